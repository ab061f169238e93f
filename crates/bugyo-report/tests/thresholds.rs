//! The threshold table test: every boundary of every rule (just below, at,
//! just above each user and duration threshold, for each service class,
//! each OR alternative, the critical-facility rule and the quarterly rule),
//! against the thresholds as BRIEF.md §4 and 001_877f6a2558382331.txt p.1
//! footnotes 3 and 5 state them ("以上": at least), written out here
//! independently of the rules file.

use bugyo_model::Timestamp;
use bugyo_report::{AccidentClass, OutageDuration, Rules, ServiceClass};

use AccidentClass::{Major, None as No, Quarterly};
use ServiceClass::*;

const H: u64 = 3_600;

/// 2021-10-09T07:56:00+09:00: the time does not matter to the class.
const AT: Timestamp = Timestamp::from_secs(1_633_733_760);

fn check(class: ServiceClass, users: u64, secs: u64, want: AccidentClass, rule: Option<&str>) {
    let c = Rules::embedded()
        .unwrap()
        .classify(class, users, OutageDuration::from_secs(secs), AT);
    let got_rule = c.rule.as_ref().map(|r| r.id.as_str());
    assert_eq!(
        (c.classification, got_rule),
        (want, rule),
        "{class}, {users} users, {secs} s"
    );
}

#[test]
fn every_boundary_of_every_rule() {
    // (class, users, seconds, expected, rule id)
    #[rustfmt::skip]
    let table: &[(ServiceClass, u64, u64, AccidentClass, Option<&str>)] = &[
        // 一 voice with emergency calls: >= 1 h and >= 30,000.
        (VoiceEmergency, 30_000, H,         Major,     Some("major-voice-emergency-1h-30k")),
        (VoiceEmergency, 29_999, H,         No,        None),
        (VoiceEmergency, 30_001, H,         Major,     Some("major-voice-emergency-1h-30k")),
        (VoiceEmergency, 30_000, H - 1,     Quarterly, Some("quarterly")),
        (VoiceEmergency, 30_000, H + 1,     Major,     Some("major-voice-emergency-1h-30k")),
        (VoiceEmergency, 29_999, 2 * H,     Quarterly, Some("quarterly")),
        (VoiceEmergency, 29_999, 2 * H - 1, No,        None),
        (VoiceEmergency, 10_000_000, H - 1, Quarterly, Some("quarterly")),
        // 二 voice without emergency calls: (>= 2 h and >= 30,000) or (>= 1 h and >= 100,000).
        (Voice, 30_000, 2 * H,      Major,     Some("major-voice-2h-30k")),
        (Voice, 29_999, 2 * H,      Quarterly, Some("quarterly")),
        (Voice, 30_001, 2 * H,      Major,     Some("major-voice-2h-30k")),
        (Voice, 30_000, 2 * H - 1,  Quarterly, Some("quarterly")),
        (Voice, 30_000, 2 * H + 1,  Major,     Some("major-voice-2h-30k")),
        (Voice, 100_000, H,         Major,     Some("major-voice-1h-100k")),
        (Voice, 99_999, H,          Quarterly, Some("quarterly")),
        (Voice, 100_001, H,         Major,     Some("major-voice-1h-100k")),
        (Voice, 100_000, H - 1,     Quarterly, Some("quarterly")),
        (Voice, 100_000, H + 1,     Major,     Some("major-voice-1h-100k")),
        (Voice, 99_999, 2 * H - 1,  Quarterly, Some("quarterly")),
        (Voice, 100_000, 2 * H,     Major,     Some("major-voice-2h-30k")),
        (Voice, 29_999, 2 * H - 1,  No,        None),
        // 三 LPWA: (>= 12 h and >= 30,000) or (>= 2 h and >= 1,000,000).
        (Lpwa, 30_000, 12 * H,       Major,     Some("major-lpwa-12h-30k")),
        (Lpwa, 29_999, 12 * H,       Quarterly, Some("quarterly")),
        (Lpwa, 30_001, 12 * H,       Major,     Some("major-lpwa-12h-30k")),
        (Lpwa, 30_000, 12 * H - 1,   Quarterly, Some("quarterly")),
        (Lpwa, 30_000, 12 * H + 1,   Major,     Some("major-lpwa-12h-30k")),
        (Lpwa, 1_000_000, 2 * H,     Major,     Some("major-lpwa-2h-1m")),
        (Lpwa, 999_999, 2 * H,       Quarterly, Some("quarterly")),
        (Lpwa, 1_000_001, 2 * H,     Major,     Some("major-lpwa-2h-1m")),
        (Lpwa, 1_000_000, 2 * H - 1, Quarterly, Some("quarterly")),
        (Lpwa, 1_000_000, 2 * H + 1, Major,     Some("major-lpwa-2h-1m")),
        (Lpwa, 999_999, 12 * H - 1,  Quarterly, Some("quarterly")),
        (Lpwa, 29_999, 2 * H - 1,    No,        None),
        // 四 free Internet-related services: (>= 24 h and >= 100,000) or (>= 12 h and >= 1,000,000).
        (FreeInternet, 100_000, 24 * H,       Major,     Some("major-free-internet-24h-100k")),
        (FreeInternet, 99_999, 24 * H,        Quarterly, Some("quarterly")),
        (FreeInternet, 100_001, 24 * H,       Major,     Some("major-free-internet-24h-100k")),
        (FreeInternet, 100_000, 24 * H - 1,   Quarterly, Some("quarterly")),
        (FreeInternet, 100_000, 24 * H + 1,   Major,     Some("major-free-internet-24h-100k")),
        (FreeInternet, 1_000_000, 12 * H,     Major,     Some("major-free-internet-12h-1m")),
        (FreeInternet, 999_999, 12 * H,       Quarterly, Some("quarterly")),
        (FreeInternet, 1_000_001, 12 * H,     Major,     Some("major-free-internet-12h-1m")),
        (FreeInternet, 1_000_000, 12 * H - 1, Quarterly, Some("quarterly")),
        (FreeInternet, 1_000_000, 12 * H + 1, Major,     Some("major-free-internet-12h-1m")),
        (FreeInternet, 30_000, 1_000 * H,     Quarterly, Some("quarterly")),
        (FreeInternet, 29_999, 2 * H - 1,     No,        None),
        // 五 every other service: (>= 2 h and >= 30,000) or (>= 1 h and >= 1,000,000).
        (Other, 30_000, 2 * H,       Major,     Some("major-other-2h-30k")),
        (Other, 29_999, 2 * H,       Quarterly, Some("quarterly")),
        (Other, 30_001, 2 * H,       Major,     Some("major-other-2h-30k")),
        (Other, 30_000, 2 * H - 1,   Quarterly, Some("quarterly")),
        (Other, 30_000, 2 * H + 1,   Major,     Some("major-other-2h-30k")),
        (Other, 1_000_000, H,        Major,     Some("major-other-1h-1m")),
        (Other, 999_999, H,          Quarterly, Some("quarterly")),
        (Other, 1_000_001, H,        Major,     Some("major-other-1h-1m")),
        (Other, 1_000_000, H - 1,    Quarterly, Some("quarterly")),
        (Other, 1_000_000, H + 1,    Major,     Some("major-other-1h-1m")),
        (Other, 29_999, 2 * H - 1,   No,        None),
        (Other, 0, 0,                No,        None),
        // ② satellites, submarine cables: all traffic impossible >= 2 h, whatever the users.
        (CriticalFacility, 0, 2 * H,          Major,     Some("major-critical-facility-2h")),
        (CriticalFacility, 9, 2 * H - 1,      No,        None),
        (CriticalFacility, 9, 2 * H + 1,      Major,     Some("major-critical-facility-2h")),
        (CriticalFacility, 30_000, 2 * H - 1, Quarterly, Some("quarterly")),
        (CriticalFacility, 29_999, 2 * H - 1, No,        None),
        // The quarterly rule: >= 30,000 users OR >= 2 h, in every class.
        (VoiceEmergency, 30_000, 0,    Quarterly, Some("quarterly")),
        (VoiceEmergency, 29_999, 0,    No,        None),
        (Voice, 0, 2 * H,              Quarterly, Some("quarterly")),
        (Voice, 0, 2 * H - 1,          No,        None),
        (Lpwa, 30_000, 0,              Quarterly, Some("quarterly")),
        (FreeInternet, 0, 2 * H,       Quarterly, Some("quarterly")),
        (FreeInternet, 29_999, 0,      No,        None),
        (Other, 30_000, 0,             Quarterly, Some("quarterly")),
        (Other, 0, 2 * H + 1,          Quarterly, Some("quarterly")),
        (CriticalFacility, 30_001, 0,  Quarterly, Some("quarterly")),
    ];
    for &(class, users, secs, want, rule) in table {
        check(class, users, secs, want, rule);
    }
}

/// The seven major accidents of FY2021 (001_* table 3) come out major
/// under the class the regulator judged them by.
#[test]
fn the_seven_major_accidents_of_fy2021() {
    for (class, users, duration) in [
        (CriticalFacility, 0, "5h42m"),       // No.1 JCSAT-5A, 9 operators
        (Other, 456_516, "2h25m"),            // No.2
        (Other, 500_000, "2h59m"),            // No.3
        (Other, 1_000_000, "4h3m"),           // No.4
        (Voice, 62_095, "2h57m"),             // No.5
        (VoiceEmergency, 1_000_000, "2h20m"), // No.6
        (Other, 41_417, "34h9m"),             // No.7
    ] {
        let c = Rules::embedded().unwrap().classify(
            class,
            users,
            OutageDuration::parse(duration).unwrap(),
            AT,
        );
        assert_eq!(c.classification, Major, "{class} {users} {duration}");
    }
}

/// An independent oracle over a grid of every threshold ± 1 in every
/// class: the rules file and BRIEF.md §4 agree everywhere near an edge.
#[test]
fn grid_around_every_threshold() {
    fn oracle(class: ServiceClass, u: u64, s: u64) -> AccidentClass {
        let at = |hours: u64, users: u64| s >= hours * H && u >= users;
        let major = match class {
            VoiceEmergency => at(1, 30_000),
            Voice => at(2, 30_000) || at(1, 100_000),
            Lpwa => at(12, 30_000) || at(2, 1_000_000),
            FreeInternet => at(24, 100_000) || at(12, 1_000_000),
            Other => at(2, 30_000) || at(1, 1_000_000),
            CriticalFacility => s >= 2 * H,
        };
        if major {
            Major
        } else if u >= 30_000 || s >= 2 * H {
            Quarterly
        } else {
            No
        }
    }
    let users: Vec<u64> = [0, 30_000, 100_000, 1_000_000]
        .iter()
        .flat_map(|&t: &u64| [t.saturating_sub(1), t, t + 1])
        .collect();
    let secs: Vec<u64> = [0, H, 2 * H, 12 * H, 24 * H]
        .iter()
        .flat_map(|&t: &u64| [t.saturating_sub(1), t, t + 1])
        .collect();
    let rules = Rules::embedded().unwrap();
    let mut n = 0;
    for class in ServiceClass::ALL {
        for &u in &users {
            for &s in &secs {
                let got = rules
                    .classify(class, u, OutageDuration::from_secs(s), AT)
                    .classification;
                assert_eq!(got, oracle(class, u, s), "{class}, {u} users, {s} s");
                n += 1;
            }
        }
    }
    assert_eq!(n, 6 * 12 * 15);
}
