//! Pure domain rules of Duban. Nothing here does I/O: no database, no network,
//! no clock. Every rule is a function of its inputs, tested with tables worked
//! out by hand.

/// Defines a code-named enum with its Chinese label: `code()`, `label_zh()`,
/// `from_code()`, `from_label()` (label or code, as people type them), and
/// serialisation as the code.
macro_rules! labelled {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($code:literal, $zh:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// Accepts the Chinese label (as ledgers write it) or the code.
            pub fn from_label(text: &str) -> Option<Self> {
                let text = text.trim();
                Self::ALL.iter().copied().find(|v| v.label_zh() == text || v.code() == text)
            }
        }

        /// Records and events carry the code.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }
    };
}

pub mod access;
pub mod assignment;
pub mod calendar;
pub mod item;
pub mod ledger;
pub mod limits;
pub mod org;
pub mod plan;
pub mod policy;
pub mod role;
pub mod scoring;
pub mod validation;

pub use role::Role;
pub use validation::{FieldViolation, Violations};
