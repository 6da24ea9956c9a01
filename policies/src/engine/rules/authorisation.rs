//! Rule 1, authorisation: only holders of an allowed sending function in scope may send, and,
//! on discussion topic lists that allow it, their confirmed subscribers.

use super::Ctx;
use crate::domain::{AudienceKind, Category};
use crate::engine::facts::{AudienceFacts, SenderFacts};
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    // An unknown audience is already refused, and there is nothing to be authorised for.
    let Some(audience) = ctx.audience else { return };
    if !may_send(&ctx.facts.sender, audience) {
        reasons.push(Reason::SenderNotAuthorised {
            audience: audience.display_name.clone(),
            allowed: audience.policy.sender_functions.clone(),
        });
    }
}

/// Whether the sender may post to the audience at all, before any limit is looked at.
pub fn may_send(sender: &SenderFacts, audience: &AudienceFacts) -> bool {
    let policy = &audience.policy;
    // All three must agree: a subscriber flag left on an announcement list must not open it.
    let as_subscriber = policy.subscribers_may_post
        && audience.kind == AudienceKind::Topic
        && audience.category == Category::Discussion
        && sender.confirmed_subscriber;
    may_send_by_role(sender, audience) || as_subscriber
}

/// Whether the sender holds an allowed sending function in the audience's scope: what a list's
/// official sender address asks for (a subscriber never writes in the list's name).
pub fn may_send_by_role(sender: &SenderFacts, audience: &AudienceFacts) -> bool {
    let policy = &audience.policy;
    sender
        .roles
        .iter()
        .any(|grant| policy.sender_functions.contains(&grant.function) && grant.covers(audience))
}

#[cfg(test)]
mod tests {
    use crate::domain::{AudienceKind, Category, RoleFunction};
    use crate::engine::testing::{audience_of, facts, grant, BRANCH, DISTRICT, STATE};
    use crate::engine::{decide, Decision, Lang, OrgLimits};

    fn decide_with_roles(roles: Vec<crate::engine::RoleGrant>) -> Decision {
        let mut f = facts();
        f.sender.roles = roles;
        decide(&f, &OrgLimits::default())
    }

    #[test]
    fn a_chair_of_the_scope_unit_may_send() {
        assert!(decide_with_roles(vec![grant(RoleFunction::Chair, BRANCH, false)]).is_release());
    }

    #[test]
    fn an_ancestor_role_counts_only_over_its_subtree() {
        let over_subtree = decide_with_roles(vec![grant(RoleFunction::Chair, DISTRICT, true)]);
        assert!(over_subtree.is_release(), "{over_subtree:?}");
        let unit_only = decide_with_roles(vec![grant(RoleFunction::Chair, STATE, false)]);
        assert_eq!(unit_only.codes(), ["sender.not_authorised"]);
    }

    #[test]
    fn a_role_elsewhere_in_the_tree_does_not_count() {
        let sibling = decide_with_roles(vec![grant(RoleFunction::Chair, 1001, true)]);
        assert_eq!(sibling.codes(), ["sender.not_authorised"]);
    }

    #[test]
    fn a_role_below_the_scope_does_not_reach_up() {
        let mut f = facts();
        let a = audience_of(&mut f);
        a.scope_unit_id = DISTRICT;
        a.scope_path = vec![1, STATE, DISTRICT];
        f.sender.roles = vec![grant(RoleFunction::Chair, BRANCH, true)];
        assert_eq!(
            decide(&f, &OrgLimits::default()).codes(),
            ["sender.not_authorised"]
        );
    }

    #[test]
    fn the_wrong_function_in_scope_is_refused_and_the_allowed_ones_are_named() {
        let d = decide_with_roles(vec![grant(RoleFunction::Treasurer, BRANCH, true)]);
        assert!(d.is_reject());
        let de = d.reasons()[0].text(Lang::De);
        assert_eq!(
            de,
            "Für den Verteiler Ortsverein Oldenfelde besteht keine Sendeberechtigung; senden dürfen: Vorsitz oder Vorstand."
        );
        let en = d.reasons()[0].text(Lang::En);
        assert!(
            en.ends_with("it accepts messages from: chair or board."),
            "{en}"
        );
    }

    #[test]
    fn an_empty_scope_path_only_lets_the_scope_unit_itself_send() {
        let mut f = facts();
        audience_of(&mut f).scope_path.clear();
        f.sender.roles = vec![grant(RoleFunction::Chair, DISTRICT, true)];
        assert!(decide(&f, &OrgLimits::default()).is_reject());
        f.sender.roles = vec![grant(RoleFunction::Chair, BRANCH, false)];
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }

    #[test]
    fn confirmed_subscribers_post_only_to_discussion_topic_lists_that_allow_it() {
        let mut f = facts();
        f.sender.roles.clear();
        f.sender.confirmed_subscriber = true;
        let a = audience_of(&mut f);
        a.kind = AudienceKind::Topic;
        a.category = Category::Discussion;
        a.policy.subscribers_may_post = true;
        assert!(decide(&f, &OrgLimits::default()).is_release());

        let mut announcement = f.clone();
        audience_of(&mut announcement).category = Category::Announcement;
        assert!(decide(&announcement, &OrgLimits::default()).is_reject());

        let mut closed = f.clone();
        audience_of(&mut closed).policy.subscribers_may_post = false;
        assert!(decide(&closed, &OrgLimits::default()).is_reject());

        let mut pending = f;
        pending.sender.confirmed_subscriber = false;
        assert!(decide(&pending, &OrgLimits::default()).is_reject());
    }
}
