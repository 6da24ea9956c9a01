//! Every sentence the engine says to a person, in German and English, in one table.
//!
//! These are the gateway's SMTP reply texts and the lines an approver reads. Keyed by the
//! stable reason code (plus a few `decision.*` and `approval.*` keys), so a translator works
//! through one list and the portal can move it to Fluent files later. German sentences avoid
//! addressing the reader as "du" or "Sie", so they fit every unit's custom.
//!
//! Placeholders: `{name}` is a figure or name; `{name:one/other}` picks the word that agrees
//! with the count `name`.

use super::lang::Lang;
use crate::domain::RoleFunction;

/// (key, German, English).
const TEXTS: &[(&str, &str, &str)] = &[
    (
        "audience.unknown",
        "Die Adresse {address} gehört zu keinem Verteiler.",
        "The address {address} does not belong to any list.",
    ),
    (
        "audience.inactive",
        "Der Verteiler {audience} ist deaktiviert; an ihn wird nichts verschickt, und es wird auch kein anderer Verteiler an seiner Stelle verwendet.",
        "The list {audience} is deactivated; nothing is sent to it, and no other list is used in its place.",
    ),
    (
        "audience.empty",
        "Der Verteiler {audience} hat zurzeit keine Empfänger.",
        "The list {audience} currently has no recipients.",
    ),
    (
        "audience.unresolvable",
        "Die Empfänger des Verteilers {audience} konnten nicht ermittelt werden ({error}); bitte die Administration verständigen.",
        "The recipients of the list {audience} could not be determined ({error}); please tell the administrators.",
    ),
    (
        "audience.out_of_scope",
        "Der Verteiler {audience} würde {outside} Empfänger außerhalb seines Bereichs erreichen ({recipients} insgesamt); ein Verteiler darf nie über seinen Bereich hinaus verschicken. Bitte die Administration verständigen.",
        "The list {audience} would reach {outside} {outside:recipient/recipients} outside its scope ({recipients} in total); a list may never send beyond its scope. Please tell the administrators.",
    ),
    (
        "audience.grew",
        "Der Verteiler {audience} hat jetzt {now} Empfänger, entschieden wurde über {decided}; der Versand wartet, bis jemand die größere Empfängerzahl bestätigt.",
        "The list {audience} now has {now} {now:recipient/recipients}, but the decision was made for {decided}; the send waits until someone confirms the larger number.",
    ),
    (
        "audience.redefined",
        "Der Verteiler {audience} wurde geändert, nachdem diese Nachricht eingereicht worden war; sie geht nicht an die neue Empfängergruppe, auch nicht mit einer Freigabe. Wenn sie noch gebraucht wird, bitte erneut senden.",
        "The list {audience} was changed after this message was submitted; it does not go to the new group of recipients, not even with an approval. If it is still needed, please send it again.",
    ),
    (
        "audience.emptied",
        "Der Verteiler {audience} erreicht niemanden mehr: Seit diese Nachricht eingereicht wurde, wurde seine Gliederung (oder eine darüber) abgeschaltet, oder alle Empfänger sind nicht mehr dabei. Es wurde nichts verschickt, und kein anderer Verteiler wird an seiner Stelle verwendet.",
        "The list {audience} reaches nobody any more: since this message was submitted, its unit (or a unit above it) was switched off, or every recipient has gone. Nothing was sent, and no other list is used in its place.",
    ),
    (
        "from.not_yours",
        "Der Absender {from} ist keine bestätigte Adresse dieses Zugangs; bitte mit der eigenen, bestätigten Adresse als From: senden.",
        "The sender {from} is not a verified address of your account; send with your own verified address in From:.",
    ),
    (
        "from.other_list",
        "Der Absender {from} ist keine bestätigte Adresse dieses Zugangs: Er gehört nur zum Verteiler {lists} und darf nur dort verwendet werden, von denen, die an diesen Verteiler senden dürfen. Bitte mit der eigenen, bestätigten Adresse als From: senden.",
        "The sender {from} is not a verified address of your account: it belongs to the list {lists} only and may be used only there, by those who may send to that list. Send with your own verified address in From:.",
    ),
    (
        "sender.not_authorised",
        "Für den Verteiler {audience} besteht keine Sendeberechtigung; senden dürfen: {allowed}.",
        "You are not allowed to send to the list {audience}; it accepts messages from: {allowed}.",
    ),
    (
        "blast_radius.above_usual",
        "Diese Nachricht würde {recipients} {recipients:Mitglied/Mitglieder} erreichen; der Verteiler {audience} hat üblicherweise {usual}.",
        "This message would reach {recipients} {recipients:member/members}; the list {audience} usually has {usual}.",
    ),
    (
        "blast_radius.first_send",
        "Dies ist die erste Nachricht an den Verteiler {audience}, und sie würde {recipients} {recipients:Mitglied/Mitglieder} erreichen; erste Nachrichten an mehr als {hold_above} Empfänger werden vorher geprüft.",
        "This is the first message to the list {audience}, and it would reach {recipients} {recipients:member/members}; first messages to more than {hold_above} recipients are checked beforehand.",
    ),
    (
        "limits.max_recipients",
        "Diese Nachricht würde {recipients} {recipients:Mitglied/Mitglieder} erreichen; an den Verteiler {audience} dürfen höchstens {limit} Empfänger je Nachricht gehen.",
        "This message would reach {recipients} {recipients:member/members}; the list {audience} allows at most {limit} {limit:recipient/recipients} per message.",
    ),
    (
        "recipients.visible",
        "Die Nachricht nennt {visible} Adressen offen in An/Cc; jede Empfängerin und jeder Empfänger würde alle anderen Adressen sehen. Erlaubt {limit:ist/sind} höchstens {limit}; bitte die Verteileradresse oder Bcc verwenden.",
        "The message shows {visible} addresses openly in To/Cc, so every recipient would see all the others. At most {limit} {limit:is/are} allowed; please use the list address or Bcc.",
    ),
    (
        "size.message",
        "Die Nachricht ist {bytes} groß; erlaubt sind höchstens {limit}.",
        "The message is {bytes} in size; at most {limit} is allowed.",
    ),
    (
        "size.attachments",
        "Die Anhänge sind zusammen {bytes} groß; erlaubt sind höchstens {limit}.",
        "The attachments come to {bytes} in total; at most {limit} is allowed.",
    ),
    (
        "size.attachment_count",
        "Die Nachricht hat {count} {count:Anhang/Anhänge}; erlaubt {limit:ist/sind} höchstens {limit}.",
        "The message has {count} {count:attachment/attachments}; at most {limit} {limit:is/are} allowed.",
    ),
    (
        "size.sms_segments",
        "Die SMS bräuchte {segments} Teile; erlaubt {limit:ist/sind} höchstens {limit}. Bitte den Text kürzen.",
        "The text message would need {segments} parts; at most {limit} {limit:is/are} allowed. Please shorten the text.",
    ),
    (
        "sms.parts",
        "An den Verteiler {audience} gingen {recipients} {recipients:SMS/SMS} zu je {segments} {segments:Teil/Teilen}, zusammen {parts} bezahlte SMS-Teile; ab {limit} sieht sich jemand den Versand vorher an.",
        "The list {audience} would get {recipients} text {recipients:message/messages} of {segments} {segments:part/parts} each, {parts} paid SMS parts in all; above {limit} somebody looks at the send first.",
    ),
    (
        "sms.budget",
        "Die SMS an den Verteiler {audience} kosten {cost}; diesen Monat wurden schon {spent} ausgegeben, das Monatsbudget der Gliederung beträgt {budget}.",
        "The text messages to the list {audience} cost {cost}; {spent} has already been spent this month, and the unit's monthly budget is {budget}.",
    ),
    (
        "rate.sender_hour",
        "Mit dieser Nachricht wären es {sends} Nachrichten desselben Absenders in der letzten Stunde; die Grenze liegt bei {limit}.",
        "With this message, the same sender would have sent {sends} messages in the last hour; the limit is {limit}.",
    ),
    (
        "rate.sender_day",
        "Mit dieser Nachricht wären es {sends} Nachrichten desselben Absenders heute; die Grenze liegt bei {limit}.",
        "With this message, the same sender would have sent {sends} messages today; the limit is {limit}.",
    ),
    (
        "rate.sender_recipients_day",
        "Mit dieser Nachricht hätte derselbe Absender heute {recipients} Empfänger erreicht; die Grenze liegt bei {limit}.",
        "With this message, the same sender would have reached {recipients} recipients today; the limit is {limit}.",
    ),
    (
        "rate.audience_day",
        "Mit dieser Nachricht gingen heute {sends} Nachrichten an den Verteiler {audience}; die Grenze liegt bei {limit}.",
        "With this message, {sends} messages would have gone to the list {audience} today; the limit is {limit}.",
    ),
    (
        "org.circuit_breaker",
        "Die Organisation hätte mit dieser Nachricht in der letzten Stunde {recipients} Empfänger erreicht, mehr als die Sicherheitsgrenze von {limit}; die Nachricht wartet, bis die Administration sie freigibt.",
        "With this message, the organisation would have reached {recipients} recipients in the last hour, more than the safety limit of {limit}; the message waits until an administrator releases it.",
    ),
    (
        "approval.required",
        "Nachrichten an den Verteiler {audience} müssen von {needed} {needed:Person/Personen} freigegeben werden, die sie nicht selbst verschickt {needed:hat/haben} ({approvers}); gültige Freigaben bisher: {valid}.",
        "Messages to the list {audience} must be approved by {needed} {needed:person/people} other than the sender ({approvers}); valid approvals so far: {valid}.",
    ),
    (
        "approval.own_submission",
        "Die eigene Nachricht kann nicht selbst freigegeben werden; das muss eine zweite Person tun.",
        "You cannot approve your own message; a second person has to do it.",
    ),
    (
        "approval.not_in_scope",
        "Für den Verteiler {audience} besteht keine Freigabeberechtigung; freigeben dürfen: {approvers}.",
        "You are not allowed to approve messages to the list {audience}; approvals are given by: {approvers}.",
    ),
    (
        "approval.content_changed",
        "Die Nachricht wurde seit der Freigabe geändert; eine Freigabe gilt nur für den freigegebenen Inhalt, es braucht eine neue.",
        "The message has changed since it was approved; an approval covers only the content approved, so a new one is needed.",
    ),
    (
        "approval.duplicate",
        "Diese Nachricht ist von derselben Person bereits freigegeben; weitere Freigaben müssen von anderen Personen kommen.",
        "You have already approved this message; further approvals have to come from other people.",
    ),
    (
        "approval.audience_unknown",
        "Die Nachricht hat keinen bekannten Verteiler und kann daher nicht freigegeben werden.",
        "The message has no known list and therefore cannot be approved.",
    ),
    ("decision.released", "Die Nachricht wurde freigegeben.", "The message has been released."),
    ("decision.rejected", "Die Nachricht wurde nicht verschickt.", "The message has not been sent."),
    ("decision.held", "Die Nachricht wurde zur Freigabe zurückgehalten.", "The message has been held for approval."),
    (
        "decision.held.approvals",
        "Es {missing:fehlt/fehlen} noch {missing} {missing:Freigabe/Freigaben} durch: {approvers}.",
        "{missing} more {missing:approval/approvals} needed from: {approvers}.",
    ),
    (
        "decision.held.admin",
        "Die Nachricht wurde zurückgehalten, bis die Administration sie freigibt.",
        "The message has been held until an administrator releases it.",
    ),
];

/// The sentence for a key; the key itself when it is missing, so a gap shows instead of an
/// empty reply (the tests make sure there is none).
pub(crate) fn template(key: &str, lang: Lang) -> &str {
    TEXTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or(key, |(_, de, en)| match lang {
            Lang::De => de,
            Lang::En => en,
        })
}

/// How a role function is named in a sentence.
pub fn function_label(function: RoleFunction, lang: Lang) -> &'static str {
    match (function, lang) {
        (RoleFunction::Chair, Lang::De) => "Vorsitz",
        (RoleFunction::Chair, Lang::En) => "chair",
        (RoleFunction::ViceChair, Lang::De) => "stellvertretender Vorsitz",
        (RoleFunction::ViceChair, Lang::En) => "vice chair",
        (RoleFunction::Board, Lang::De) => "Vorstand",
        (RoleFunction::Board, Lang::En) => "board",
        (RoleFunction::Secretary, Lang::De) => "Schriftführung",
        (RoleFunction::Secretary, Lang::En) => "secretary",
        (RoleFunction::Treasurer, Lang::De) => "Schatzmeisterei",
        (RoleFunction::Treasurer, Lang::En) => "treasurer",
        (RoleFunction::PressOffice, Lang::De) => "Pressestelle",
        (RoleFunction::PressOffice, Lang::En) => "press office",
        (RoleFunction::Admin, Lang::De) => "Administration",
        (RoleFunction::Admin, Lang::En) => "administrators",
    }
}

/// "Vorsitz, Vorstand oder Pressestelle" / "chair, board or press office"; "niemand" /
/// "nobody" for an empty list, which is what an empty list means.
pub fn function_list(functions: &[RoleFunction], lang: Lang) -> String {
    let labels: Vec<&str> = functions.iter().map(|f| function_label(*f, lang)).collect();
    alternatives(&labels, lang)
}

/// Names as prose alternatives: "A, B or C" ("nobody" for none).
pub(crate) fn name_list(names: &[String], lang: Lang) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    alternatives(&names, lang)
}

fn alternatives(items: &[&str], lang: Lang) -> String {
    let (or, nobody) = match lang {
        Lang::De => (" oder ", "niemand"),
        Lang::En => (" or ", "nobody"),
    };
    match items.split_last() {
        None => nobody.to_string(),
        Some((last, [])) => (*last).to_string(),
        Some((last, init)) => format!("{}{or}{last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reasons::Reason;
    use crate::engine::ApprovalRefusal;

    #[test]
    fn every_code_has_a_sentence_in_both_languages() {
        for code in Reason::CODES.iter().chain(ApprovalRefusal::CODES) {
            let row = TEXTS.iter().find(|(k, _, _)| k == code);
            let (_, de, en) = row.unwrap_or_else(|| panic!("no text for {code}"));
            assert!(de.ends_with('.') && en.ends_with('.'), "{code}");
            assert_ne!(de, en, "{code} is not translated");
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), TEXTS.len());
    }

    #[test]
    fn both_languages_use_the_same_placeholders() {
        let names = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .map(|p| p.split(['}', ':']).next().unwrap_or_default().to_string())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        for (key, de, en) in TEXTS {
            assert_eq!(names(de), names(en), "{key}");
        }
    }

    /// One reason of every kind, with figures.
    fn samples() -> Vec<Reason> {
        use crate::engine::reasons::Severity::Hold;
        let a = || "AG Umwelt".to_string();
        vec![
            Reason::AudienceUnknown {
                address: "x@lists.example.org".into(),
            },
            Reason::AudienceInactive { audience: a() },
            Reason::AudienceEmpty { audience: a() },
            Reason::AudienceUnresolvable {
                audience: a(),
                error: "timeout".into(),
            },
            Reason::AudienceOutOfScope {
                audience: a(),
                recipients: 2,
                outside_scope: 1,
            },
            Reason::AudienceGrew {
                audience: a(),
                decided: 10,
                now: 20,
            },
            Reason::AudienceRedefined { audience: a() },
            Reason::AudienceEmptied { audience: a() },
            Reason::FromNotYours {
                from: "x@example.org".into(),
            },
            Reason::FromOtherList {
                from: "presse@example.org".into(),
                lists: vec![a()],
            },
            Reason::SenderNotAuthorised {
                audience: a(),
                allowed: vec![RoleFunction::Chair],
            },
            Reason::BlastRadiusAboveUsual {
                audience: a(),
                recipients: 9,
                usual: 1,
                hold_above: 2,
            },
            Reason::BlastRadiusFirstSend {
                audience: a(),
                recipients: 9,
                hold_above: 2,
            },
            Reason::MaxRecipients {
                audience: a(),
                recipients: 9,
                limit: 1,
            },
            Reason::VisibleRecipients {
                visible: 9,
                limit: 1,
            },
            Reason::MessageSize { bytes: 9, limit: 1 },
            Reason::AttachmentBytes { bytes: 9, limit: 1 },
            Reason::AttachmentCount { count: 9, limit: 1 },
            Reason::SmsSegments {
                segments: 9,
                limit: 1,
            },
            Reason::SmsParts {
                audience: "OV".into(),
                recipients: 1_000,
                segments: 3,
                parts: 3_000,
                hold_above: 2_000,
            },
            Reason::SmsBudget {
                audience: "OV".into(),
                cost_cents: 27_000,
                spent_cents: 5_000,
                budget_cents: 30_000,
            },
            Reason::SenderHourlySends {
                sends: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::SenderDailySends {
                sends: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::SenderDailyRecipients {
                recipients: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::AudienceDailySends {
                audience: a(),
                sends: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::CircuitBreaker {
                recipients: 9,
                limit: 1,
            },
            Reason::ApprovalRequired {
                audience: a(),
                needed: 1,
                valid: 0,
                approvers: vec![],
            },
        ]
    }

    #[test]
    fn every_reason_fills_every_placeholder_in_both_languages() {
        let samples = samples();
        let mut covered: Vec<&str> = samples.iter().map(Reason::code).collect();
        covered.sort_unstable();
        let mut codes = Reason::CODES.to_vec();
        codes.sort_unstable();
        assert_eq!(covered, codes, "a reason has no sample here");
        for reason in &samples {
            for lang in [Lang::De, Lang::En] {
                let text = reason.text(lang);
                assert!(!text.contains('{') && !text.contains('}'), "{text}");
                assert!(
                    text.chars().next().is_some_and(char::is_uppercase),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn role_lists_read_as_prose() {
        let fs = [
            RoleFunction::Chair,
            RoleFunction::Board,
            RoleFunction::PressOffice,
        ];
        assert_eq!(
            function_list(&fs, Lang::De),
            "Vorsitz, Vorstand oder Pressestelle"
        );
        assert_eq!(function_list(&fs, Lang::En), "chair, board or press office");
        assert_eq!(function_list(&fs[..1], Lang::De), "Vorsitz");
        assert_eq!(function_list(&[], Lang::En), "nobody");
    }

    #[test]
    fn every_function_has_a_label_in_both_languages() {
        for f in RoleFunction::ALL {
            assert_ne!(function_label(*f, Lang::De), function_label(*f, Lang::En));
        }
    }
}
