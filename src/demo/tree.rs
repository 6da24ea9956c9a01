//! The demo organisation's unit tree and member rows, written as the CSV exports a membership
//! database would produce, so that the demo goes through the same import as real data.

use super::names::{ascii, FIRST_NAMES, LAST_NAMES, PLACES, STREETS};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::io::Write;

pub const STATE: &str = "HH";
pub const OLDENFELDE: &str = "HH-WA-OLD";
pub const RAHLSTEDT: &str = "HH-WA-RAH";
/// Members of Oldenfelde, whatever the organisation's size: the figure the README and the
/// policy examples use ("usually 212").
pub const OLDENFELDE_SIZE: u32 = 212;

pub struct DemoUnit {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub parent: Option<String>,
}

/// A person with a fixed login, always generated the same way.
pub struct FixedPerson {
    pub external_id: &'static str,
    pub first: &'static str,
    pub last: &'static str,
    pub unit: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub roles: &'static str,
    pub preferred: &'static str,
    pub role_label: &'static str,
    pub password: &'static str,
}

pub const FIXED: &[FixedPerson] = &[
    FixedPerson {
        external_id: "D000001",
        first: "Ole",
        last: "Brandt",
        unit: OLDENFELDE,
        email: "ole.brandt@example.org",
        phone: "040 6781234",
        roles: "chair@HH-WA-OLD",
        preferred: "",
        role_label: "branch chair",
        password: "oldenfelde-vorsitz",
    },
    FixedPerson {
        external_id: "D000002",
        first: "Renée",
        last: "Hoffmann",
        unit: "HH-AL-OTT",
        email: "renee.hoffmann@example.org",
        phone: "",
        roles: "press-office@HH",
        preferred: "",
        role_label: "press officer",
        password: "presse-eins",
    },
    FixedPerson {
        external_id: "D000003",
        first: "Jonas",
        last: "Petersen",
        unit: RAHLSTEDT,
        email: "jonas.petersen@example.org",
        phone: "",
        roles: "press-office@HH",
        preferred: "",
        role_label: "second press officer",
        password: "presse-zwei",
    },
    FixedPerson {
        external_id: "D000004",
        first: "Aylin",
        last: "Kaya",
        unit: "HH-AL-BLA",
        email: "aylin.kaya@example.org",
        phone: "",
        roles: "admin@HH",
        preferred: "",
        role_label: "admin",
        password: "admin-hamburg",
    },
    FixedPerson {
        external_id: "D000005",
        first: "Zoë",
        last: "Nguyen",
        unit: OLDENFELDE,
        email: "zoe.nguyen@example.org",
        phone: "0151 23456789",
        roles: "",
        preferred: "sms",
        role_label: "member (prefers SMS)",
        password: "mitglied-sms",
    },
    FixedPerson {
        external_id: "D000006",
        first: "Björn",
        last: "Meißner",
        unit: RAHLSTEDT,
        email: "bjoern.meissner@example.org",
        phone: "",
        roles: "chair@HH-WA-RAH",
        preferred: "",
        role_label: "branch chair",
        password: "rahlstedt-vorsitz",
    },
    FixedPerson {
        external_id: "D000007",
        first: "Hans-Peter",
        last: "Schulz",
        unit: "HH-AL-OTT",
        email: "hans-peter.schulz@example.org",
        phone: "",
        roles: "chair@HH",
        preferred: "",
        role_label: "state chair",
        password: "landesvorsitz",
    },
];

pub struct Plan {
    pub units: Vec<DemoUnit>,
    /// Branch codes other than the fixed ones, for distributing members.
    pub branches: Vec<String>,
}

/// Districts with their names; more are generated for large organisations.
const DISTRICTS: &[(&str, &str)] = &[
    ("HH-WA", "Kreis Wandsbek"),
    ("HH-AL", "Kreis Altona"),
    ("HH-EI", "Kreis Eimsbüttel"),
    ("HH-NO", "Kreis Hamburg-Nord"),
    ("HH-MI", "Kreis Hamburg-Mitte"),
    ("HH-BE", "Kreis Bergedorf"),
    ("HH-HA", "Kreis Harburg"),
];

fn unit(code: &str, name: &str, kind: &'static str, parent: Option<&str>) -> DemoUnit {
    DemoUnit {
        code: code.into(),
        name: name.into(),
        kind,
        parent: parent.map(str::to_string),
    }
}

/// About 40 members per branch, as in real local branches; at 400,000 members that is the
/// organisation's ~10,000 units.
pub fn plan(members: u32) -> Plan {
    let mut units = vec![
        unit(STATE, "Landesorganisation Hamburg", "state", None),
        unit("HH-LV", "Landesvorstand Hamburg", "committee", Some(STATE)),
        unit(
            "HH-PRESSE",
            "Pressestelle Hamburg",
            "committee",
            Some(STATE),
        ),
        unit(
            "HH-AG60",
            "AG 60 plus Hamburg",
            "working-group",
            Some(STATE),
        ),
        unit(
            "HH-IG-KLIMA",
            "Interessengruppe Klima",
            "interest-group",
            Some(STATE),
        ),
    ];
    let branch_count = (members / 40).max(30) as usize;
    let district_count = DISTRICTS.len().max(branch_count.div_ceil(300));
    let mut sub_districts = Vec::new();
    for d in 0..district_count {
        let (code, name) = match DISTRICTS.get(d) {
            Some((c, n)) => (c.to_string(), n.to_string()),
            None => (format!("HH-K{d:03}"), format!("Kreis {}", d + 1)),
        };
        units.push(unit(&code, &name, "district", Some(STATE)));
        for (suffix, label) in [("N", "Nord"), ("S", "Süd")] {
            let sub = format!("{code}-{suffix}");
            units.push(unit(
                &sub,
                &format!("{} {label}", name.trim_start_matches("Kreis ")),
                "sub-district",
                Some(&code),
            ));
            sub_districts.push(sub);
        }
    }
    // The branches of the sample export, directly below their districts.
    for (code, name, parent) in [
        (OLDENFELDE, "Distrikt Oldenfelde", "HH-WA"),
        (RAHLSTEDT, "Distrikt Rahlstedt", "HH-WA"),
        ("HH-WA-BRA", "Distrikt Bramfeld", "HH-WA"),
        ("HH-AL-OTT", "Distrikt Ottensen", "HH-AL"),
        ("HH-AL-BLA", "Distrikt Blankenese", "HH-AL"),
    ] {
        units.push(unit(code, name, "branch", Some(parent)));
    }
    let mut branches = vec![
        RAHLSTEDT.to_string(),
        "HH-WA-BRA".into(),
        "HH-AL-OTT".into(),
        "HH-AL-BLA".into(),
    ];
    for i in 0..branch_count.saturating_sub(5) {
        let parent = &sub_districts[i % sub_districts.len()];
        let place = PLACES[i % PLACES.len()];
        let round = i / PLACES.len();
        let name = if round == 0 {
            format!("Distrikt {place}")
        } else {
            format!("Distrikt {place} {}", round + 1)
        };
        let code = format!("{parent}-{i:05}");
        units.push(unit(&code, &name, "branch", Some(parent)));
        branches.push(code);
    }
    Plan { units, branches }
}

pub fn write_units(plan: &Plan, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "code;name;kind;parent_code")?;
    for u in &plan.units {
        writeln!(
            out,
            "{};{};{};{}",
            u.code,
            u.name,
            u.kind,
            u.parent.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// Writes the member export: the fixed people first, then `members` generated ones. Every
/// branch gets a chair and a board member; a quarter prefer SMS or post; about one in six has
/// no email address (members without internet must not be left out).
pub fn write_members(
    plan: &Plan,
    members: u32,
    rng: &mut ChaCha8Rng,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(out, "external_id;first_name;last_name;unit_code;email;phone;street;postcode;city;roles;preferred_channel")?;
    for p in FIXED {
        writeln!(
            out,
            "{};{};{};{};{};{};Oldenfelder Straße 1;22143;Hamburg;{};{}",
            p.external_id, p.first, p.last, p.unit, p.email, p.phone, p.roles, p.preferred
        )?;
    }
    let generated = members.saturating_sub(FIXED.len() as u32);
    let mut staffed = vec![0_u8; plan.branches.len()];
    for i in 0..generated {
        let branch_index = if i < OLDENFELDE_SIZE - 2 {
            None
        } else {
            Some(rng.gen_range(0..plan.branches.len()))
        };
        let unit = branch_index.map_or(OLDENFELDE, |b| plan.branches[b].as_str());
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let email = if rng.gen_ratio(5, 6) {
            let domain = ["example.org", "example.net", "example.com"][rng.gen_range(0..3)];
            format!("{}.{}.{i}@{domain}", ascii(first), ascii(last))
        } else {
            String::new()
        };
        let phone = if rng.gen_ratio(3, 5) {
            if rng.gen_bool(0.5) {
                format!("0151 {:08}", rng.gen_range(10_000_000..99_999_999))
            } else {
                format!("040/{:07}", rng.gen_range(1_000_000..9_999_999))
            }
        } else {
            String::new()
        };
        let preferred = match (rng.gen_range(0..4), phone.is_empty(), email.is_empty()) {
            (0, false, _) => "sms",
            (0, true, _) | (_, true, true) => "post",
            _ => "",
        };
        let roles = match branch_index {
            Some(b) if staffed[b] < 2 => {
                staffed[b] += 1;
                if staffed[b] == 1 {
                    format!("chair@{unit}")
                } else {
                    format!("board@{unit}")
                }
            }
            _ => String::new(),
        };
        writeln!(
            out,
            "M{:07};{first};{last};{unit};{email};{phone};{} {};22{:03};Hamburg;{roles};{preferred}",
            i + 1,
            STREETS[rng.gen_range(0..STREETS.len())],
            rng.gen_range(1..200),
            rng.gen_range(0..1000),
        )?;
    }
    Ok(())
}
