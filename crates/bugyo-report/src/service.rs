//! The service classes of the major-accident rule (電気通信事業法施行規則第58条,
//! as 001_877f6a2558382331.txt p.1 footnote 3 lists them): which table row
//! an outage is judged by.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A service class, in the words of the ordinance's table (footnote 3 of
/// 001_877f6a2558382331.txt): items 一 to 五 of ①, and ② for satellites,
/// submarine cables and similar important facilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceClass {
    /// 一 緊急通報を取り扱う音声伝送役務: voice with emergency calls.
    VoiceEmergency,
    /// 二 緊急通報を取り扱わない音声伝送役務: voice without emergency calls.
    Voice,
    /// 三 セルラーLPWA / アンライセンスLPWA: cellular and unlicensed LPWA.
    Lpwa,
    /// 四 無料のインターネット関連サービス: Internet-related services users do not pay for.
    FreeInternet,
    /// 五 その他の電気通信役務: every other service (paid Internet access, e-mail, data).
    Other,
    /// ② 衛星、海底ケーブルその他これに準ずる重要な電気通信設備: all traffic
    /// through the facility impossible.
    CriticalFacility,
}

impl ServiceClass {
    /// Every class, in the order of the ordinance.
    pub const ALL: [ServiceClass; 6] = [
        ServiceClass::VoiceEmergency,
        ServiceClass::Voice,
        ServiceClass::Lpwa,
        ServiceClass::FreeInternet,
        ServiceClass::Other,
        ServiceClass::CriticalFacility,
    ];

    /// The name used on the command line and in the rules file.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceClass::VoiceEmergency => "voice-emergency",
            ServiceClass::Voice => "voice",
            ServiceClass::Lpwa => "lpwa",
            ServiceClass::FreeInternet => "free-internet",
            ServiceClass::Other => "other",
            ServiceClass::CriticalFacility => "critical-facility",
        }
    }

    /// The class of a name ([`ServiceClass::as_str`]), if it is one.
    pub fn parse(s: &str) -> Option<ServiceClass> {
        ServiceClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ServiceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a service class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a service class (voice-emergency, voice, lpwa, free-internet, other, critical-facility) / \
     {0:?} は役務区分ではありません (voice-emergency, voice, lpwa, free-internet, other, critical-facility のいずれか)"
)]
pub struct UnknownServiceClass(pub String);

impl FromStr for ServiceClass {
    type Err = UnknownServiceClass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceClass::parse(s).ok_or_else(|| UnknownServiceClass(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ServiceClass::ALL {
            assert_eq!(c.as_str().parse::<ServiceClass>(), Ok(c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
        }
        assert!("Voice".parse::<ServiceClass>().is_err());
        assert!("".parse::<ServiceClass>().is_err());
    }
}
