//! The `From:` a message carries: the sender's own verified address anywhere; an official
//! sender address only on the lists that carry it, and only for those who may send to them by
//! role; anybody else's address nowhere. Judged per list, so a press officer's statement as
//! `presse@…` goes to the press list and is refused, naming that list, on any other list of
//! the same submission.

use super::authorisation::may_send_by_role;
use super::Ctx;
use crate::engine::facts::FromAddress;
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    // An unknown audience is already refused, and there is no list to use an address on.
    let Some(audience) = ctx.audience else { return };
    match &ctx.facts.from_address {
        FromAddress::Own => {}
        FromAddress::Foreign { address } => reasons.push(Reason::FromNotYours {
            from: address.clone(),
        }),
        FromAddress::Official {
            address,
            this_list,
            lists,
        } => {
            if !(*this_list && may_send_by_role(&ctx.facts.sender, audience)) {
                reasons.push(Reason::FromOtherList {
                    from: address.clone(),
                    lists: lists.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{AudienceKind, Category, RoleFunction};
    use crate::engine::testing::{audience_of, facts, grant, BRANCH};
    use crate::engine::{decide, FromAddress, Lang, OrgLimits};

    fn official(this_list: bool) -> FromAddress {
        FromAddress::Official {
            address: "vorstand@oldenfelde.example".into(),
            this_list,
            lists: vec!["Ortsverein Oldenfelde".into()],
        }
    }

    #[test]
    fn an_official_address_goes_only_to_its_own_list_and_names_it() {
        let mut f = facts();
        f.from_address = official(true);
        assert!(decide(&f, &OrgLimits::default()).is_release());

        f.from_address = FromAddress::Official {
            address: "presse@example.org".into(),
            this_list: false,
            lists: vec!["Pressemitteilungen".into(), "Presse intern".into()],
        };
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["from.other_list"]);
        assert_eq!(
            d.reasons()[0].text(Lang::De),
            "Der Absender presse@example.org ist keine bestätigte Adresse dieses Zugangs: \
             Er gehört nur zum Verteiler Pressemitteilungen oder Presse intern und darf nur dort \
             verwendet werden, von denen, die an diesen Verteiler senden dürfen. Bitte mit der \
             eigenen, bestätigten Adresse als From: senden."
        );
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("it belongs to the list Pressemitteilungen or Presse intern only"));
    }

    #[test]
    fn a_subscriber_never_writes_as_the_lists_official_address() {
        let mut f = facts();
        f.sender.roles = vec![grant(RoleFunction::Treasurer, BRANCH, false)];
        f.sender.confirmed_subscriber = true;
        let a = audience_of(&mut f);
        a.kind = AudienceKind::Topic;
        a.category = Category::Discussion;
        a.policy.subscribers_may_post = true;
        assert!(decide(&f, &OrgLimits::default()).is_release());
        f.from_address = official(true);
        assert_eq!(
            decide(&f, &OrgLimits::default()).codes(),
            ["from.other_list"]
        );
    }

    #[test]
    fn somebody_elses_address_is_refused_on_every_list() {
        let mut f = facts();
        f.from_address = FromAddress::Foreign {
            address: "zoe.nguyen@example.org".into(),
        };
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["from.not_yours"]);
        assert!(d.reasons()[0]
            .text(Lang::En)
            .starts_with("The sender zoe.nguyen@example.org is not a verified address"));
        assert!(!d.reasons()[0].cleared_by_approvals());
    }
}
