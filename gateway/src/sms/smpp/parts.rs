//! From a text to `submit_sm` requests, and from a `deliver_sm` to what it says.

use super::{SmppSettings, SmscEvent};
use crate::sms::OutgoingText;
use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::TlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, MessageState, MessageType, MessagingMode, Npi, RegisteredDelivery, Ton,
};
use rusmpp::values::{GsmFeatures, MCDeliveryReceipt};
use std::str::FromStr;
use verteiler_policies::{decode_gsm_unpacked, encode_gsm_unpacked, SmsEncoding};

/// The `submit_sm` requests for one text: one per part; a long text's parts carry the
/// concatenation header `05 00 03 ref total n`.
pub fn submit_parts(
    settings: &SmppSettings,
    text: &OutgoingText,
    reference: u8,
) -> Result<Vec<SubmitSm>, String> {
    let destination = text.to.strip_prefix('+').unwrap_or(&text.to);
    let destination = COctetString::from_str(destination)
        .map_err(|e| format!("the number {} cannot be addressed: {e}", text.to))?;
    let (source_ton, source_npi, source) = source_address(&settings.source_addr);
    let source = COctetString::from_str(source)
        .map_err(|e| format!("sms.smpp.source_addr cannot be sent: {e}"))?;
    let parts = text.text.parts();
    let total = parts.len();
    if total > 255 {
        return Err(format!(
            "the text has {total} parts; SMS allows at most 255"
        ));
    }
    let gsm = text.text.encoding() == SmsEncoding::Gsm7;
    parts
        .iter()
        .enumerate()
        .map(|(n, part)| {
            let (mut payload, data_coding) = if gsm {
                // Our own table, the one SmsText measured with (rusmpp's lacks form feed).
                let bytes = encode_gsm_unpacked(part)
                    .ok_or_else(|| format!("the text cannot be encoded in GSM 7-bit: {part:?}"))?;
                (bytes, DataCoding::McSpecific)
            } else {
                // UTF-16 big-endian, as networks carry data_coding 8 today: an emoji is a
                // surrogate pair that phones show as one character. (rusmpp's strict UCS-2
                // encoder refuses it; SmsText already counted it as two units.)
                let bytes = part.encode_utf16().flat_map(u16::to_be_bytes).collect();
                (bytes, DataCoding::Ucs2)
            };
            let mut esm_class = EsmClass::default();
            if total > 1 {
                let mut udh = vec![0x05, 0x00, 0x03, reference, total as u8, n as u8 + 1];
                udh.append(&mut payload);
                payload = udh;
                esm_class = EsmClass::new(
                    MessagingMode::Default,
                    MessageType::Default,
                    Default::default(),
                    GsmFeatures::UdhiIndicator,
                );
            }
            let short_message = OctetString::from_vec(payload)
                .map_err(|e| format!("a part of the text is too long for submit_sm: {e}"))?;
            Ok(SubmitSm::builder()
                .source_addr_ton(source_ton)
                .source_addr_npi(source_npi)
                .source_addr(source.clone())
                .dest_addr_ton(Ton::International)
                .dest_addr_npi(Npi::Isdn)
                .destination_addr(destination.clone())
                .esm_class(esm_class)
                .registered_delivery(RegisteredDelivery::new(
                    MCDeliveryReceipt::McDeliveryReceiptRequestedWhereFinalDeliveryOutcomeIsSuccessOrFailure,
                    Default::default(),
                    Default::default(),
                    0,
                ))
                .data_coding(data_coding)
                .short_message(short_message)
                .build())
        })
        .collect()
}

/// A number (`+49…`) goes as an international ISDN address, anything else as letters.
fn source_address(source: &str) -> (Ton, Npi, &str) {
    match source.strip_prefix('+') {
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            (Ton::International, Npi::Isdn, digits)
        }
        _ => (Ton::Alphanumeric, Npi::Unknown, source),
    }
}

/// Where a part stands according to a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptState {
    Delivered,
    Failed,
    /// On its way (`ENROUTE`, `ACCEPTD`, `UNKNOWN`): nothing to record yet.
    Interim,
}

/// The message id and state of a delivery receipt, from its TLVs (SMPP 3.4 and later) or else
/// from the text an SMSC writes (`id:… stat:DELIVRD …`). `None` when it is not a receipt.
pub fn delivery_receipt(sm: &DeliverSm) -> Option<(String, ReceiptState)> {
    let mut id = None;
    let mut state = None;
    for tlv in sm.tlvs() {
        match tlv.value() {
            Some(TlvValue::ReceiptedMessageId(v)) => id = Some(v.to_string()),
            Some(TlvValue::MessageState(s)) => {
                state = Some(match s {
                    MessageState::Delivered => ReceiptState::Delivered,
                    MessageState::Expired
                    | MessageState::Deleted
                    | MessageState::Undeliverable
                    | MessageState::Rejected => ReceiptState::Failed,
                    _ => ReceiptState::Interim,
                })
            }
            _ => {}
        }
    }
    if !is_receipt(sm) && id.is_none() {
        return None;
    }
    let body = String::from_utf8_lossy(sm.short_message().as_ref()).into_owned();
    let field = |name: &str| {
        body.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .map(str::to_string)
    };
    let id = id.or_else(|| field("id:"))?;
    let state = state.unwrap_or_else(|| match field("stat:").as_deref() {
        Some("DELIVRD") => ReceiptState::Delivered,
        Some("UNDELIV" | "EXPIRED" | "DELETED" | "REJECTD") => ReceiptState::Failed,
        _ => ReceiptState::Interim,
    });
    Some((id, state))
}

/// Whether the SMSC marked the `deliver_sm` as a receipt or a notification of ours.
fn is_receipt(sm: &DeliverSm) -> bool {
    matches!(
        sm.esm_class.message_type,
        MessageType::ShortMessageContainsMCDeliveryReceipt
            | MessageType::ShortMessageContainsIntermediateDeliveryNotification
    )
}

/// What a `deliver_sm` tells us: a receipt, a member's text, or nothing to record.
pub(super) fn event_of(sm: &DeliverSm) -> Option<SmscEvent> {
    if let Some((message_id, state)) = delivery_receipt(sm) {
        return match state {
            ReceiptState::Delivered => Some(SmscEvent::Receipt {
                message_id,
                delivered: true,
            }),
            ReceiptState::Failed => Some(SmscEvent::Receipt {
                message_id,
                delivered: false,
            }),
            ReceiptState::Interim => None,
        };
    }
    if is_receipt(sm) {
        // A receipt without a readable id names nothing of ours; it is not a member's text.
        tracing::warn!(event = "smpp.receipt_without_id");
        return None;
    }
    let mut bytes: &[u8] = sm.short_message().as_ref();
    if sm.esm_class.gsm_features == GsmFeatures::UdhiIndicator {
        let header = bytes.first().map_or(0, |l| *l as usize + 1);
        bytes = bytes.get(header..).unwrap_or_default();
    }
    let text = match sm.data_coding {
        DataCoding::Ucs2 => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        DataCoding::Latin1 => bytes.iter().map(|&b| b as char).collect(),
        DataCoding::Ia5 => String::from_utf8_lossy(bytes).into_owned(),
        _ => decode_gsm_unpacked(bytes),
    };
    let source = sm.source_addr.to_string();
    let from = if sm.source_addr_ton == Ton::International && !source.starts_with('+') {
        format!("+{source}")
    } else {
        source
    };
    Some(SmscEvent::Inbound { from, text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::types::OctetString;

    fn deliver(esm: MessageType, text: &str) -> DeliverSm {
        DeliverSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr(COctetString::from_str("4915123456789").unwrap())
            .esm_class(EsmClass::new(
                Default::default(),
                esm,
                Default::default(),
                Default::default(),
            ))
            .short_message(OctetString::from_vec(text.as_bytes().to_vec()).unwrap())
            .build()
    }

    #[test]
    fn a_receipt_without_tlvs_is_read_from_its_text() {
        let receipt = MessageType::ShortMessageContainsMCDeliveryReceipt;
        let text = "id:0a1b2c sub:001 dlvrd:000 submit date:2612011200 done date:2612011201 stat:";
        for (stat, state) in [
            ("DELIVRD", ReceiptState::Delivered),
            ("UNDELIV", ReceiptState::Failed),
            ("EXPIRED", ReceiptState::Failed),
            ("REJECTD", ReceiptState::Failed),
            ("ENROUTE", ReceiptState::Interim),
        ] {
            let sm = deliver(receipt, &format!("{text}{stat} err:000 text:"));
            assert_eq!(
                delivery_receipt(&sm),
                Some(("0a1b2c".to_string(), state)),
                "{stat}"
            );
        }
        assert_eq!(event_of(&deliver(receipt, &format!("{text}ENROUTE"))), None);
        assert_eq!(
            event_of(&deliver(receipt, "sub:001 dlvrd:001 stat:DELIVRD")),
            None,
            "a receipt without an id is neither recorded nor read as a member's STOP"
        );
    }

    #[test]
    fn a_member_s_text_is_inbound_from_an_international_number() {
        let sm = deliver(MessageType::Default, "STOP");
        assert_eq!(delivery_receipt(&sm), None);
        assert_eq!(
            event_of(&sm),
            Some(SmscEvent::Inbound {
                from: "+4915123456789".into(),
                text: "STOP".into()
            })
        );
    }
}
