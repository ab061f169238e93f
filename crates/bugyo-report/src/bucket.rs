//! The statistics buckets of table 2 of 001_877f6a2558382331.txt
//! (影響利用者数及び継続時間別の電気通信事故発生状況): users affected ×
//! duration, for the statistics page. Each bucket is "at least the lower
//! edge (以上) and under the upper edge (未満)", as the table's labels say.

use crate::OutageDuration;
use serde::Serialize;

/// Users affected, the columns of table 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum UsersBucket {
    /// 500人未満
    #[serde(rename = "<500")]
    Under500,
    /// 500人以上5千人未満
    #[serde(rename = "500-5k")]
    From500To5k,
    /// 5千人以上3万未満
    #[serde(rename = "5k-30k")]
    From5kTo30k,
    /// 3万以上10万未満
    #[serde(rename = "30k-100k")]
    From30kTo100k,
    /// 10万以上100万未満
    #[serde(rename = "100k-1M")]
    From100kTo1M,
    /// 100万以上
    #[serde(rename = ">=1M")]
    AtLeast1M,
}

impl UsersBucket {
    /// Every bucket, smallest first.
    pub const ALL: [UsersBucket; 6] = [
        UsersBucket::Under500,
        UsersBucket::From500To5k,
        UsersBucket::From5kTo30k,
        UsersBucket::From30kTo100k,
        UsersBucket::From100kTo1M,
        UsersBucket::AtLeast1M,
    ];

    /// The bucket of a number of users.
    pub fn of(users: u64) -> UsersBucket {
        match users {
            0..500 => UsersBucket::Under500,
            500..5_000 => UsersBucket::From500To5k,
            5_000..30_000 => UsersBucket::From5kTo30k,
            30_000..100_000 => UsersBucket::From30kTo100k,
            100_000..1_000_000 => UsersBucket::From100kTo1M,
            _ => UsersBucket::AtLeast1M,
        }
    }

    /// The column label of table 2.
    pub const fn ja(self) -> &'static str {
        match self {
            UsersBucket::Under500 => "500人未満",
            UsersBucket::From500To5k => "500人以上5千人未満",
            UsersBucket::From5kTo30k => "5千人以上3万未満",
            UsersBucket::From30kTo100k => "3万以上10万未満",
            UsersBucket::From100kTo1M => "10万以上100万未満",
            UsersBucket::AtLeast1M => "100万以上",
        }
    }
    /// The column's name in the API and the serialised form, e.g. `500-5k`.
    pub const fn as_str(self) -> &'static str {
        match self {
            UsersBucket::Under500 => "<500",
            UsersBucket::From500To5k => "500-5k",
            UsersBucket::From5kTo30k => "5k-30k",
            UsersBucket::From30kTo100k => "30k-100k",
            UsersBucket::From100kTo1M => "100k-1M",
            UsersBucket::AtLeast1M => ">=1M",
        }
    }

    /// The column label of table 2 in English.
    pub const fn en(self) -> &'static str {
        match self {
            UsersBucket::Under500 => "under 500",
            UsersBucket::From500To5k => "500 to under 5,000",
            UsersBucket::From5kTo30k => "5,000 to under 30,000",
            UsersBucket::From30kTo100k => "30,000 to under 100,000",
            UsersBucket::From100kTo1M => "100,000 to under 1,000,000",
            UsersBucket::AtLeast1M => "1,000,000 or more",
        }
    }
}

/// Duration, the rows of table 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum DurationBucket {
    /// 30分未満
    #[serde(rename = "<30m")]
    Under30m,
    /// 30分以上1時間未満
    #[serde(rename = "30m-1h")]
    From30mTo1h,
    /// 1時間以上1時間30分未満
    #[serde(rename = "1h-1h30m")]
    From1hTo1h30m,
    /// 1時間30分以上2時間未満
    #[serde(rename = "1h30m-2h")]
    From1h30mTo2h,
    /// 2時間以上5時間未満
    #[serde(rename = "2h-5h")]
    From2hTo5h,
    /// 5時間以上12時間未満
    #[serde(rename = "5h-12h")]
    From5hTo12h,
    /// 12時間以上24時間未満
    #[serde(rename = "12h-24h")]
    From12hTo24h,
    /// 24時間以上
    #[serde(rename = ">=24h")]
    AtLeast24h,
}

impl DurationBucket {
    /// Every bucket, shortest first.
    pub const ALL: [DurationBucket; 8] = [
        DurationBucket::Under30m,
        DurationBucket::From30mTo1h,
        DurationBucket::From1hTo1h30m,
        DurationBucket::From1h30mTo2h,
        DurationBucket::From2hTo5h,
        DurationBucket::From5hTo12h,
        DurationBucket::From12hTo24h,
        DurationBucket::AtLeast24h,
    ];

    /// The bucket of a duration.
    pub fn of(d: OutageDuration) -> DurationBucket {
        const M: u64 = 60;
        const H: u64 = 3_600;
        match d.as_secs() {
            s if s < 30 * M => DurationBucket::Under30m,
            s if s < H => DurationBucket::From30mTo1h,
            s if s < 90 * M => DurationBucket::From1hTo1h30m,
            s if s < 2 * H => DurationBucket::From1h30mTo2h,
            s if s < 5 * H => DurationBucket::From2hTo5h,
            s if s < 12 * H => DurationBucket::From5hTo12h,
            s if s < 24 * H => DurationBucket::From12hTo24h,
            _ => DurationBucket::AtLeast24h,
        }
    }

    /// The row label of table 2.
    pub const fn ja(self) -> &'static str {
        match self {
            DurationBucket::Under30m => "30分未満",
            DurationBucket::From30mTo1h => "30分以上1時間未満",
            DurationBucket::From1hTo1h30m => "1時間以上1時間30分未満",
            DurationBucket::From1h30mTo2h => "1時間30分以上2時間未満",
            DurationBucket::From2hTo5h => "2時間以上5時間未満",
            DurationBucket::From5hTo12h => "5時間以上12時間未満",
            DurationBucket::From12hTo24h => "12時間以上24時間未満",
            DurationBucket::AtLeast24h => "24時間以上",
        }
    }
    /// The row's name in the API and the serialised form, e.g. `2h-5h`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DurationBucket::Under30m => "<30m",
            DurationBucket::From30mTo1h => "30m-1h",
            DurationBucket::From1hTo1h30m => "1h-1h30m",
            DurationBucket::From1h30mTo2h => "1h30m-2h",
            DurationBucket::From2hTo5h => "2h-5h",
            DurationBucket::From5hTo12h => "5h-12h",
            DurationBucket::From12hTo24h => "12h-24h",
            DurationBucket::AtLeast24h => ">=24h",
        }
    }

    /// The row label of table 2 in English.
    pub const fn en(self) -> &'static str {
        match self {
            DurationBucket::Under30m => "under 30 min",
            DurationBucket::From30mTo1h => "30 min to under 1 h",
            DurationBucket::From1hTo1h30m => "1 h to under 1 h 30 min",
            DurationBucket::From1h30mTo2h => "1 h 30 min to under 2 h",
            DurationBucket::From2hTo5h => "2 h to under 5 h",
            DurationBucket::From5hTo12h => "5 h to under 12 h",
            DurationBucket::From12hTo24h => "12 h to under 24 h",
            DurationBucket::AtLeast24h => "24 h or more",
        }
    }
}

/// The cell of table 2 an accident counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StatisticsBucket {
    /// The column: users affected.
    pub users: UsersBucket,
    /// Its Japanese label.
    pub users_ja: &'static str,
    /// The row: duration.
    pub duration: DurationBucket,
    /// Its Japanese label.
    pub duration_ja: &'static str,
}

impl StatisticsBucket {
    /// The cell of `users` and `duration`.
    pub fn of(users: u64, duration: OutageDuration) -> StatisticsBucket {
        let (u, d) = (UsersBucket::of(users), DurationBucket::of(duration));
        StatisticsBucket {
            users: u,
            users_ja: u.ja(),
            duration: d,
            duration_ja: d.ja(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_edges_of_table_2() {
        use UsersBucket::*;
        for (users, bucket) in [
            (0, Under500),
            (499, Under500),
            (500, From500To5k),
            (4_999, From500To5k),
            (5_000, From5kTo30k),
            (29_999, From5kTo30k),
            (30_000, From30kTo100k),
            (99_999, From30kTo100k),
            (100_000, From100kTo1M),
            (999_999, From100kTo1M),
            (1_000_000, AtLeast1M),
            (u64::MAX, AtLeast1M),
        ] {
            assert_eq!(UsersBucket::of(users), bucket, "{users}");
        }
    }

    #[test]
    fn duration_edges_of_table_2() {
        use DurationBucket::*;
        let m = |n: u64| OutageDuration::from_secs(n * 60);
        let s = OutageDuration::from_secs;
        for (d, bucket) in [
            (s(0), Under30m),
            (s(30 * 60 - 1), Under30m),
            (m(30), From30mTo1h),
            (s(3_599), From30mTo1h),
            (m(60), From1hTo1h30m),
            (s(90 * 60 - 1), From1hTo1h30m),
            (m(90), From1h30mTo2h),
            (s(7_199), From1h30mTo2h),
            (m(120), From2hTo5h),
            (s(5 * 3_600 - 1), From2hTo5h),
            (m(300), From5hTo12h),
            (s(12 * 3_600 - 1), From5hTo12h),
            (m(720), From12hTo24h),
            (s(24 * 3_600 - 1), From12hTo24h),
            (m(1_440), AtLeast24h),
            (s(u64::MAX), AtLeast24h),
        ] {
            assert_eq!(DurationBucket::of(d), bucket, "{d}");
        }
    }

    #[test]
    fn names_are_the_serialised_form() {
        for b in UsersBucket::ALL {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
            assert!(!b.en().is_empty() && !b.ja().is_empty());
        }
        for b in DurationBucket::ALL {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
            assert!(!b.en().is_empty() && !b.ja().is_empty());
        }
    }

    #[test]
    fn labels() {
        let b = StatisticsBucket::of(62_095, OutageDuration::from_secs(2 * 3_600 + 57 * 60));
        assert_eq!(
            serde_json::to_value(b).unwrap(),
            serde_json::json!({"users": "30k-100k", "users_ja": "3万以上10万未満",
                               "duration": "2h-5h", "duration_ja": "2時間以上5時間未満"})
        );
    }
}
