//! `bugyo org add|list|show`, `bugyo user add|list|disable` and `bugyo token
//! create|revoke`: member organisations, the people who use bugyo and API
//! tokens in the store, from the command line. Every change is written to
//! the audit log.

use bugyo_store::{
    AuditEntry, Contact, ContactKind, NewOrg, NewUser, Org, OrgKind, Role, Store, User,
};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which store to use: the SQLite file under `--data-dir`, or `--database`.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The data directory whose store to use (DATA_DIR/bugyo.db).
    #[arg(long, global = true, value_name = "DIR", default_value = crate::serve_config::defaults::DATA_DIR)]
    pub data_dir: PathBuf,
    /// The store's URL instead: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    /// The store's URL.
    pub fn url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| bugyo_store::sqlite_url(&self.data_dir))
    }

    /// Opens the store.
    pub(crate) async fn open(&self) -> Result<Store, String> {
        if self.database.is_none() {
            std::fs::create_dir_all(&self.data_dir)
                .map_err(|e| format!("{}: {e}", self.data_dir.display()))?;
        }
        Store::open(&self.url()).await.map_err(|e| e.to_string())
    }
}

/// Arguments of `bugyo org`.
#[derive(Args, Debug)]
pub struct OrgArgs {
    #[command(subcommand)]
    command: OrgCommand,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    /// Register a member organisation.
    Add(Box<OrgAdd>),
    /// List the member organisations.
    List {
        /// Print JSON, one organisation per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one organisation.
    Show {
        /// Its handle.
        handle: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `bugyo org add`.
#[derive(Args, Debug)]
struct OrgAdd {
    /// Short unique handle (letters, digits, '-', '_').
    #[arg(long)]
    handle: String,
    /// Full name.
    #[arg(long)]
    name: String,
    /// Language of its notices: ja or en.
    #[arg(long, default_value = "ja")]
    language: String,
    /// An AS number of the organisation (repeatable).
    #[arg(long = "asn", value_name = "N")]
    asns: Vec<u32>,
    /// A prefix of the organisation (repeatable).
    #[arg(long = "prefix", value_name = "PREFIX")]
    prefixes: Vec<bugyo_model::Prefix>,
    /// A NOC mailbox (RFC 2142 noc@) (repeatable).
    #[arg(long = "email", value_name = "ADDRESS")]
    emails: Vec<String>,
    /// An abuse mailbox (RFC 2142 abuse@) (repeatable).
    #[arg(long = "abuse-email", value_name = "ADDRESS")]
    abuse_emails: Vec<String>,
    /// A webhook URL taking JSON signed with HMAC-SHA256 (repeatable).
    #[arg(long = "webhook", value_name = "URL")]
    webhooks: Vec<String>,
    /// The HMAC key of the webhooks.
    #[arg(long, value_name = "KEY")]
    webhook_secret: Option<String>,
    /// A Slack-compatible incoming-webhook URL (repeatable).
    #[arg(long = "slack", value_name = "URL")]
    slacks: Vec<String>,
    /// A syslog collector, HOST:PORT (RFC 5424 over UDP) (repeatable).
    #[arg(long = "syslog", value_name = "HOST:PORT")]
    syslogs: Vec<String>,
    /// What it is: a member operator (told of incidents that concern it),
    /// the hub or the regulator (told of every incident from
    /// --notify-min-severity on, in the analysts' or the regulator's view).
    #[arg(long, default_value = "member", value_parser = ["member", "hub", "regulator"])]
    kind: String,
    /// The least severity of an incident it is first told of (default:
    /// info for a member, high for the hub and the regulator).
    #[arg(long, value_name = "SEVERITY", value_parser = ["info", "low", "medium", "high", "critical"])]
    notify_min_severity: Option<String>,
}

impl OrgAdd {
    fn new_org(&self) -> NewOrg {
        let contact = |kind, address: &String, role: &str, secret: Option<String>| Contact {
            kind,
            address: address.clone(),
            role: role.to_string(),
            secret,
        };
        let mut contacts: Vec<Contact> = Vec::new();
        contacts.extend(
            self.emails
                .iter()
                .map(|a| contact(ContactKind::Email, a, "noc", None)),
        );
        contacts.extend(
            self.abuse_emails
                .iter()
                .map(|a| contact(ContactKind::Email, a, "abuse", None)),
        );
        contacts.extend(
            self.webhooks
                .iter()
                .map(|a| contact(ContactKind::Webhook, a, "noc", self.webhook_secret.clone())),
        );
        contacts.extend(
            self.slacks
                .iter()
                .map(|a| contact(ContactKind::Slack, a, "noc", None)),
        );
        contacts.extend(
            self.syslogs
                .iter()
                .map(|a| contact(ContactKind::Syslog, a, "noc", None)),
        );
        NewOrg {
            handle: self.handle.clone(),
            name: self.name.clone(),
            language: self.language.clone(),
            asns: self.asns.clone(),
            prefixes: self.prefixes.clone(),
            contacts,
            // Both are checked by clap against the same names.
            kind: OrgKind::parse(&self.kind).unwrap_or_default(),
            notify_min_severity: self
                .notify_min_severity
                .as_deref()
                .and_then(|s| s.parse().ok()),
        }
    }
}

/// Arguments of `bugyo token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create an API token and print it (only its hash is kept).
    Create {
        /// The organisation it speaks for (required for members).
        #[arg(long, value_name = "HANDLE", conflicts_with = "user")]
        org: Option<String>,
        /// member, analyst, regulator or admin.
        #[arg(long, value_parser = parse_role, required_unless_present = "user", conflicts_with = "user")]
        role: Option<Role>,
        /// A user's token instead: it speaks for the user's organisation
        /// with the user's role, and is revoked when the user is disabled.
        #[arg(long, value_name = "ID")]
        user: Option<i64>,
        /// A label for people.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token's id (printed when it was created).
        id: i64,
    },
}

/// Arguments of `bugyo user`.
#[derive(Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Register a person who uses bugyo.
    Add {
        /// The person's name.
        #[arg(long)]
        name: String,
        /// member, analyst, regulator or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The organisation (required for members).
        #[arg(long, value_name = "HANDLE")]
        org: Option<String>,
        /// Where to reach the person.
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
    /// List the users (of one organisation).
    List {
        /// Only this organisation's.
        #[arg(long, value_name = "HANDLE")]
        org: Option<String>,
        /// Print JSON, one user per line.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user; its tokens are revoked with it.
    Disable {
        /// The user's id.
        id: i64,
    },
    /// Set a user's portal password / ポータルのパスワードを設定, read from
    /// standard input (one line; at least 12 characters). The user signs
    /// in with their e-mail address and it.
    Password {
        /// The user's id.
        id: i64,
    },
}

/// The id of the organisation with `handle`.
async fn org_id(store: &Store, handle: &str) -> Result<i64, String> {
    Ok(store
        .org(handle)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{handle}: no such organisation / その組織はありません"))?
        .id)
}

fn print_user(u: &User) {
    say!(
        "{} {} [{}] org {} {}{}",
        u.id,
        u.name,
        u.role.name(),
        u.org_id.map_or("-".to_string(), |o| o.to_string()),
        u.email.as_deref().unwrap_or("-"),
        if u.disabled_at.is_some() {
            " (disabled / 無効)"
        } else {
            ""
        }
    );
}

/// Runs `bugyo user`.
pub fn run_user(args: UserArgs) -> ExitCode {
    run_async(async move {
        let store = args.store.open().await?;
        match args.command {
            UserCommand::Add {
                name,
                role,
                org,
                email,
            } => {
                let org_id = match &org {
                    Some(h) => Some(org_id(&store, h).await?),
                    None => None,
                };
                let user = store
                    .add_user(&NewUser {
                        org_id,
                        name,
                        email,
                        role,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                audit(
                    &store,
                    "user-add",
                    format!("user/{}", user.id),
                    format!("role {} org {}", role.name(), org.as_deref().unwrap_or("-")),
                )
                .await?;
                say!("registered / 登録しました:");
                print_user(&user);
            }
            UserCommand::List { org, json } => {
                let org_id = match &org {
                    Some(h) => Some(org_id(&store, h).await?),
                    None => None,
                };
                for u in store.users(org_id).await.map_err(|e| e.to_string())? {
                    if json {
                        say!("{}", serde_json::to_string(&u).map_err(|e| e.to_string())?);
                    } else {
                        print_user(&u);
                    }
                }
            }
            UserCommand::Disable { id } => {
                let revoked = store
                    .disable_user(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!("user {id}: not found or already disabled / 見つからないか、無効化済みです")
                    })?;
                audit(
                    &store,
                    "user-disable",
                    format!("user/{id}"),
                    format!("{revoked} tokens revoked"),
                )
                .await?;
                say!("user {id} disabled, {revoked} tokens revoked / 利用者 {id} を無効化し、トークン {revoked} 件を失効させました");
            }
            UserCommand::Password { id } => {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("standard input: {e} / 標準入力を読めません"))?;
                let password = line.trim_end_matches(['\n', '\r']);
                store
                    .set_password(id, password)
                    .await
                    .map_err(|e| match e {
                        bugyo_store::StoreError::Invalid { field, message } => {
                            format!("{field}: {message}")
                        }
                        e => e.to_string(),
                    })?;
                audit(&store, "user-password", format!("user/{id}"), String::new()).await?;
                say!("user {id}: password set; they sign in to the portal with their e-mail address / 利用者 {id} のパスワードを設定しました(ログイン名はメールアドレス)");
            }
        }
        store.close().await;
        Ok(())
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?}: member, analyst, regulator or admin"))
}

/// Runs `f` on a runtime of its own; its error goes to stderr, exit status 2.
pub(crate) fn run_async<F: std::future::Future<Output = Result<(), String>>>(f: F) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        // Messages are in both languages already.
        Err(e) => {
            eprintln!("error / エラー: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_org(o: &Org) {
    say!(
        "{} ({}) [{}] {}, notices from / 通知の下限: {}",
        o.handle,
        o.name,
        o.language,
        o.kind.name(),
        o.notify_min_severity
    );
    let asns: Vec<String> = o.asns.iter().map(|a| format!("AS{a}")).collect();
    say!("  ASNs / AS 番号: {}", asns.join(", "));
    let prefixes: Vec<String> = o.prefixes.iter().map(|p| p.to_string()).collect();
    say!("  prefixes / プレフィックス: {}", prefixes.join(", "));
    for c in &o.contacts {
        say!("  {} ({}): {}", c.kind.name(), c.role, c.address);
    }
}

async fn audit(store: &Store, action: &str, object: String, detail: String) -> Result<(), String> {
    store
        .audit(&AuditEntry {
            at: 0,
            token_id: None,
            org_id: None,
            action: action.to_string(),
            object,
            detail,
        })
        .await
        .map_err(|e| e.to_string())
}

/// Runs `bugyo org`.
pub fn run_org(args: OrgArgs) -> ExitCode {
    run_async(async move {
        let store = args.store.open().await?;
        match args.command {
            OrgCommand::Add(add) => {
                let org =
                    store
                        .add_org(&add.new_org())
                        .await
                        .map_err(|e| match e.is_conflict() {
                            true => format!(
                                "{}: handle already registered / ハンドルは登録済みです",
                                add.handle
                            ),
                            false => e.to_string(),
                        })?;
                audit(
                    &store,
                    "org-add",
                    format!("org/{}", org.id),
                    org.handle.clone(),
                )
                .await?;
                say!("registered / 登録しました:");
                print_org(&org);
            }
            OrgCommand::List { json } => {
                let orgs = store.orgs().await.map_err(|e| e.to_string())?;
                if !json && orgs.is_empty() {
                    say!("No organisations. / 組織は登録されていません。");
                }
                for o in &orgs {
                    if json {
                        say!("{}", serde_json::to_string(o).map_err(|e| e.to_string())?);
                    } else {
                        print_org(o);
                    }
                }
            }
            OrgCommand::Show { handle, json } => {
                let o = store
                    .org(&handle)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!("{handle}: no such organisation / その組織はありません")
                    })?;
                if json {
                    say!("{}", serde_json::to_string(&o).map_err(|e| e.to_string())?);
                } else {
                    print_org(&o);
                }
            }
        }
        store.close().await;
        Ok(())
    })
}

/// Runs `bugyo token`.
pub fn run_token(args: TokenArgs) -> ExitCode {
    run_async(async move {
        let store = args.store.open().await?;
        match args.command {
            TokenCommand::Create {
                org,
                role,
                user,
                label,
            } => {
                let (token, secret) = match (user, role) {
                    (Some(user), _) => store.create_user_token(user, &label).await,
                    (None, Some(role)) => {
                        let org_id = match &org {
                            Some(h) => Some(org_id(&store, h).await?),
                            None => None,
                        };
                        store.create_token(org_id, role, &label).await
                    }
                    // clap requires one of them.
                    (None, None) => {
                        return Err("--role or --user / --role か --user が必要です".into())
                    }
                }
                .map_err(|e| e.to_string())?;
                let role = token.role;
                audit(
                    &store,
                    "token-create",
                    format!("token/{}", token.id),
                    format!(
                        "role {} org {} user {}",
                        role.name(),
                        token.org_id.map_or("-".to_string(), |o| o.to_string()),
                        token.user_id.map_or("-".to_string(), |u| u.to_string())
                    ),
                )
                .await?;
                eprintln!(
                    "token {} ({}) created; it is shown only now / トークン {} を作成しました。表示はこの一度だけです",
                    token.id,
                    role.name(),
                    token.id
                );
                // The one place the secret is shown: its loss is an error.
                {
                    use std::io::Write as _;
                    writeln!(std::io::stdout().lock(), "{secret}").map_err(|e| {
                        format!("token {} created but not shown ({e}); revoke it / トークンを表示できませんでした。失効させてください", token.id)
                    })?;
                }
            }
            TokenCommand::Revoke { id } => {
                let done = store.revoke_token(id).await.map_err(|e| e.to_string())?;
                if !done {
                    return Err(format!(
                        "token {id}: not found or already revoked / 見つからないか、失効済みです"
                    ));
                }
                audit(&store, "token-revoke", format!("token/{id}"), String::new()).await?;
                say!("token {id} revoked / トークン {id} を失効させました");
            }
        }
        store.close().await;
        Ok(())
    })
}
