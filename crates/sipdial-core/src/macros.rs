//! The one place that spells out what every validated string newtype shares:
//! `Display`, `AsRef<str>`, `FromStr`, and serde that goes through the same check as
//! construction (so a JSON body can never smuggle in a value `new` would refuse).

macro_rules! validated_string {
    ($(#[$meta:meta])* $name:ident, $validate:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, $crate::ValidationError> {
                let value = value.into();
                $validate(&value)?;
                Ok(Self(value))
            }

            /// The validated value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the validated value.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::ValidationError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

pub(crate) use validated_string;

/// Declares an adapter's response newtype around [`api::ApiError`](crate::api::ApiError):
/// the struct, `From` the core error and from [`DialError`](crate::DialError) (so `?`
/// works in host handlers), `Display` and `Error`. Written once here because every
/// framework adapter needs the same plumbing and the orphan rule makes each declare its
/// own type; the adapter then implements only its framework's response trait.
///
/// ```
/// sipdial_core::adapter_error_response! {
///     /// The core's error as my framework's response.
///     pub struct MyErrorResponse;
/// }
/// let e: MyErrorResponse = sipdial_core::DialError::RejectedCredentials.into();
/// assert_eq!(e.0.status(), 502);
/// ```
#[macro_export]
macro_rules! adapter_error_response {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $name(pub $crate::api::ApiError);

        impl ::core::convert::From<$crate::api::ApiError> for $name {
            fn from(e: $crate::api::ApiError) -> Self {
                Self(e)
            }
        }

        impl ::core::convert::From<$crate::DialError> for $name {
            fn from(e: $crate::DialError) -> Self {
                Self($crate::api::ApiError::from(e))
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::error::Error for $name {
            fn source(&self) -> ::core::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::core::option::Option::Some(&self.0)
            }
        }
    };
}
