//! Closed sets of values that are stored as text (`kind`, `status`, `function`, …).
//!
//! Each set has one canonical spelling per value, used in the database, the CSV import, the
//! config file and the command line alike, so there is exactly one parser per set.

/// A text that names no value of a closed set; says which set and lists the valid spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {set} \"{given}\" (expected one of: {expected})")]
pub struct UnknownValue {
    pub set: &'static str,
    pub given: String,
    pub expected: String,
}

/// Declares a closed set of values stored as text: the enum with `ALL`, `as_str`, `FromStr`
/// (failing with [`UnknownValue`]), `Display` and serde as the text. Exported so the store's
/// states are declared the same way; the using crate needs `serde`.
#[doc(hidden)]
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $set:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::UnknownValue {
                        set: $set,
                        given: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::UnknownValue;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> Self { v.as_str() }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum!(
    /// Where a unit stands in the organisation tree, or that it stands beside it.
    UnitKind, "unit kind" {
        Federal = "federal",
        State = "state",
        District = "district",
        SubDistrict = "sub-district",
        Branch = "branch",
        Committee = "committee",
        WorkingGroup = "working-group",
        InterestGroup = "interest-group",
    }
);

text_enum!(
    /// A function a member holds in a unit. Sending and approving rights attach to these.
    RoleFunction, "role function" {
        Chair = "chair",
        ViceChair = "vice-chair",
        Board = "board",
        Secretary = "secretary",
        Treasurer = "treasurer",
        PressOffice = "press-office",
        Admin = "admin",
    }
);

text_enum!(
    /// What kind of mail a send is; decides whether members may opt out of it.
    Category, "category" {
        /// Invitations and notices the statutes require: can be moved to another channel, never switched off.
        Statutory = "statutory",
        Announcement = "announcement",
        Discussion = "discussion",
    }
);

text_enum!(
    /// A way to reach a person.
    Channel, "channel" {
        Email = "email",
        Sms = "sms",
        Post = "post",
    }
);

text_enum!(
    /// A member's choice of channel for one category.
    ChannelPreference, "channel preference" {
        Email = "email",
        Sms = "sms",
        Post = "post",
        None = "none",
    }
);

text_enum!(
    /// How an audience finds its recipients.
    AudienceKind, "audience kind" {
        /// Members of a unit, optionally with its sub-units.
        Structural = "structural",
        /// Holders of a role function in a subtree (e.g. all branch chairs of a district).
        Functional = "functional",
        /// Opt-in subscribers (double opt-in), optionally open to non-members.
        Topic = "topic",
    }
);

text_enum!(
    /// Where replies to a list copy go.
    ReplyMode, "reply mode" {
        /// Replies reach the sender only.
        Sender = "sender",
        /// Replies go back to the list (discussion lists).
        List = "list",
        /// Replies are not expected; Reply-To names a no-reply address.
        NoReply = "no-reply",
    }
);

text_enum!(
    /// What happens with a message that shows many recipients in To/Cc.
    VisibleRecipientsMode, "visible recipients mode" {
        Reject = "reject",
        /// Deliver one by one with To: the recipient alone.
        Rewrite = "rewrite",
    }
);

text_enum!(
    SubscriptionState, "subscription state" {
        Pending = "pending",
        Confirmed = "confirmed",
        Unsubscribed = "unsubscribed",
    }
);

text_enum!(
    MemberStatus, "member status" {
        Active = "active",
        Left = "left",
    }
);

text_enum!(
    ContactKind, "contact kind" {
        Email = "email",
        Phone = "phone",
        Postal = "postal",
    }
);

impl ChannelPreference {
    /// Statutory mail may be moved to another channel but never switched off.
    pub fn allowed_for(self, category: Category) -> bool {
        !(category == Category::Statutory && self == ChannelPreference::None)
    }

    pub fn channel(self) -> Option<Channel> {
        match self {
            ChannelPreference::Email => Some(Channel::Email),
            ChannelPreference::Sms => Some(Channel::Sms),
            ChannelPreference::Post => Some(Channel::Post),
            ChannelPreference::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for kind in UnitKind::ALL {
            assert_eq!(kind.as_str().parse::<UnitKind>().unwrap(), *kind);
        }
        for f in RoleFunction::ALL {
            assert_eq!(f.as_str().parse::<RoleFunction>().unwrap(), *f);
        }
    }

    #[test]
    fn parsing_ignores_case_and_surrounding_space() {
        assert_eq!(
            " Press-Office ".parse::<RoleFunction>().unwrap(),
            RoleFunction::PressOffice
        );
    }

    #[test]
    fn unknown_value_names_the_set_and_the_choices() {
        let err = "mayor".parse::<RoleFunction>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("role function \"mayor\""), "{text}");
        assert!(text.contains("press-office"), "{text}");
    }

    #[test]
    fn statutory_mail_cannot_be_switched_off() {
        assert!(!ChannelPreference::None.allowed_for(Category::Statutory));
        assert!(ChannelPreference::Post.allowed_for(Category::Statutory));
        assert!(ChannelPreference::None.allowed_for(Category::Discussion));
    }
}
