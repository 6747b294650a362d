//! Encrypted keystores (Web3 Secret Storage v3: the format of geth, foundry's `cast wallet` and
//! most wallets), one file per key in the wallet folder.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// No keystore with that name or address.
    #[error("no key named or addressed '{0}' in {1}; `plasma wallet list` shows the keys")]
    NotFound(String, PathBuf),
    /// A key with that name exists already.
    #[error("a key named '{0}' exists already; pick another --name")]
    Exists(String),
    /// The password does not open the keystore.
    #[error("wrong password for key '{0}' (or the keystore file is damaged)")]
    WrongPassword(String),
    /// The private key text is not 32 bytes of hex.
    #[error("a private key is 32 bytes of hex (64 hex digits, 0x optional)")]
    BadPrivateKey,
    /// A name that cannot be a file name.
    #[error("key names use letters, digits, '-' and '_' only: '{0}'")]
    BadName(String),
    /// File system trouble.
    #[error("wallet folder {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Keystore encryption failed.
    #[error("keystore: {0}")]
    Keystore(String),
    /// The keystore's plaintext `address` is not the address of the key it holds: the file
    /// was edited or is damaged, and `wallet list` and `--from` would name the wrong key.
    #[error(
        "key '{name}': its keystore says address {recorded} but holds the key of {actual}; the file was edited or damaged, so it is not used (restore it, or import the key again)"
    )]
    AddressMismatch {
        /// The key's name.
        name: String,
        /// The address the file records.
        recorded: Address,
        /// The address of the key it holds.
        actual: Address,
    },
}

/// A key in the wallet: its name (the keystore's file name) and address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// The keystore's file name.
    pub name: String,
    /// The address, read from the keystore without decrypting it.
    pub address: Option<Address>,
}

/// The wallet folder.
#[derive(Debug, Clone)]
pub struct Wallet {
    dir: PathBuf,
}

impl Wallet {
    /// The wallet in `dir` (created when a key is first added).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the wallet folder, readable by its owner only (as geth's keystore folder).
    fn create_dir(&self) -> Result<(), WalletError> {
        let fresh = !self.dir.exists();
        std::fs::create_dir_all(&self.dir).map_err(|source| WalletError::Io {
            path: self.dir.clone(),
            source,
        })?;
        if fresh {
            owner_only(&self.dir, 0o700)?;
        }
        Ok(())
    }

    fn check_new_name(&self, name: &str) -> Result<(), WalletError> {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(WalletError::BadName(name.to_owned()));
        }
        if self.dir.join(name).exists() {
            return Err(WalletError::Exists(name.to_owned()));
        }
        Ok(())
    }

    /// Creates a new random key, encrypted with `password`.
    pub fn create(&self, name: &str, password: &str) -> Result<KeyInfo, WalletError> {
        self.check_new_name(name)?;
        self.create_dir()?;
        let signer = PrivateKeySigner::random();
        self.store(name, &signer, password)
    }

    /// Imports a raw private key (hex), encrypted with `password`.
    pub fn import_private_key(
        &self,
        name: &str,
        private_key: &str,
        password: &str,
    ) -> Result<KeyInfo, WalletError> {
        self.check_new_name(name)?;
        let signer: PrivateKeySigner = private_key
            .trim()
            .parse()
            .map_err(|_| WalletError::BadPrivateKey)?;
        self.create_dir()?;
        self.store(name, &signer, password)
    }

    /// Imports an existing keystore file (geth, foundry, …) after checking that `password`
    /// opens it; the file is copied unchanged.
    pub fn import_keystore(
        &self,
        name: &str,
        keystore: &Path,
        password: &str,
    ) -> Result<KeyInfo, WalletError> {
        self.check_new_name(name)?;
        let signer = PrivateKeySigner::decrypt_keystore(keystore, password)
            .map_err(|_| WalletError::WrongPassword(keystore.display().to_string()))?;
        self.create_dir()?;
        let target = self.dir.join(name);
        std::fs::copy(keystore, &target).map_err(|source| WalletError::Io {
            path: target.clone(),
            source,
        })?;
        owner_only(&target, 0o600)?;
        Ok(KeyInfo {
            name: name.to_owned(),
            address: Some(signer.address()),
        })
    }

    fn store(
        &self,
        name: &str,
        signer: &PrivateKeySigner,
        password: &str,
    ) -> Result<KeyInfo, WalletError> {
        let mut rng = rand08::thread_rng();
        PrivateKeySigner::encrypt_keystore(
            &self.dir,
            &mut rng,
            signer.to_bytes(),
            password,
            Some(name),
        )
        .map_err(|e| WalletError::Keystore(e.to_string()))?;
        // Record the address in the file, as geth does, so listing keys needs no password.
        let path = self.dir.join(name);
        let io = |source| WalletError::Io {
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let mut json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| WalletError::Keystore(e.to_string()))?;
        json["address"] = alloy::primitives::hex::encode(signer.address()).into();
        std::fs::write(&path, json.to_string()).map_err(io)?;
        owner_only(&path, 0o600)?;
        Ok(KeyInfo {
            name: name.to_owned(),
            address: Some(signer.address()),
        })
    }

    /// Every key in the folder, by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, WalletError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(WalletError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut keys: Vec<KeyInfo> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .map(|e| KeyInfo {
                name: e.file_name().to_string_lossy().into_owned(),
                address: keystore_address(&e.path()),
            })
            .collect();
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// The addresses of every key (those whose keystore records its address).
    pub fn addresses(&self) -> Result<Vec<Address>, WalletError> {
        Ok(self.list()?.into_iter().filter_map(|k| k.address).collect())
    }

    /// Decrypts the key named `key` (or whose address is `key`) with `password`. A keystore
    /// whose recorded address is not its key's is refused: the address is what `--from` and
    /// `wallet list` go by.
    pub fn unlock(&self, key: &str, password: &str) -> Result<PrivateKeySigner, WalletError> {
        let info = self.find(key)?;
        let signer = PrivateKeySigner::decrypt_keystore(self.dir.join(&info.name), password)
            .map_err(|_| WalletError::WrongPassword(info.name.clone()))?;
        match info.address {
            Some(recorded) if recorded != signer.address() => Err(WalletError::AddressMismatch {
                name: info.name,
                recorded,
                actual: signer.address(),
            }),
            _ => Ok(signer),
        }
    }

    /// The key named `key`, or whose address is `key`.
    pub fn find(&self, key: &str) -> Result<KeyInfo, WalletError> {
        let by_address: Option<Address> = key.parse().ok();
        self.list()?
            .into_iter()
            .find(|k| k.name == key || (by_address.is_some() && k.address == by_address))
            .ok_or_else(|| WalletError::NotFound(key.to_owned(), self.dir.clone()))
    }
}

/// Makes `path` readable and writable by its owner only (`mode`: 0o600 for a keystore, 0o700
/// for the folder), as geth does: a keystore is encrypted, but a weak password is then only a
/// risk to whoever can read the file.
fn owner_only(path: &Path, mode: u32) -> Result<(), WalletError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
            |source| WalletError::Io {
                path: path.to_owned(),
                source,
            },
        )?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// The `address` field of a keystore file, if it has one.
fn keystore_address(path: &Path) -> Option<Address> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let address = json.get("address")?.as_str()?;
    let address = address.strip_prefix("0x").unwrap_or(address);
    format!("0x{address}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = Wallet::new(dir.path().join("keys"));
        assert!(wallet.list().unwrap().is_empty());
        let alice = wallet.create("alice", "secret").unwrap();
        let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        let bob = wallet.import_private_key("bob", key, "pw").unwrap();
        assert_eq!(
            bob.address,
            Some(
                "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                    .parse()
                    .unwrap()
            )
        );
        assert_eq!(wallet.list().unwrap(), vec![alice.clone(), bob.clone()]);
        let unlocked = wallet.unlock("alice", "secret").unwrap();
        assert_eq!(Some(unlocked.address()), alice.address);
        let by_address = wallet
            .unlock(&bob.address.unwrap().to_string(), "pw")
            .unwrap();
        assert_eq!(Some(by_address.address()), bob.address);
    }

    #[test]
    fn errors_are_clear_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = Wallet::new(dir.path());
        wallet.create("alice", "secret").unwrap();
        assert!(matches!(
            wallet.unlock("alice", "wrong"),
            Err(WalletError::WrongPassword(_))
        ));
        assert!(matches!(
            wallet.unlock("carol", "x"),
            Err(WalletError::NotFound(..))
        ));
        assert!(matches!(
            wallet.create("alice", "x"),
            Err(WalletError::Exists(_))
        ));
        assert!(matches!(
            wallet.create("../evil", "x"),
            Err(WalletError::BadName(_))
        ));
        assert!(matches!(
            wallet.import_private_key("bob", "0x1234", "x"),
            Err(WalletError::BadPrivateKey)
        ));
        assert_eq!(wallet.list().unwrap().len(), 1);
    }

    #[test]
    fn imports_a_keystore_file_after_checking_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let source = Wallet::new(dir.path().join("elsewhere"));
        let made = source.create("k", "pw").unwrap();
        let wallet = Wallet::new(dir.path().join("wallet"));
        let path = source.dir().join("k");
        assert!(matches!(
            wallet.import_keystore("k", &path, "bad"),
            Err(WalletError::WrongPassword(_))
        ));
        assert!(wallet.list().unwrap().is_empty());
        let imported = wallet.import_keystore("k", &path, "pw").unwrap();
        assert_eq!(imported.address, made.address);
        assert_eq!(
            wallet.unlock("k", "pw").unwrap().address(),
            made.address.unwrap()
        );
    }

    #[cfg(unix)]
    #[test]
    fn keystores_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let wallet = Wallet::new(dir.path().join("keys"));
        wallet.create("alice", "pw").unwrap();
        wallet
            .import_private_key("bob", &"11".repeat(32), "pw")
            .unwrap();
        let source = Wallet::new(dir.path().join("elsewhere"));
        source.create("k", "pw").unwrap();
        let copied = dir.path().join("elsewhere").join("k");
        std::fs::set_permissions(&copied, std::fs::Permissions::from_mode(0o644)).unwrap();
        wallet.import_keystore("carol", &copied, "pw").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        for name in ["alice", "bob", "carol"] {
            assert_eq!(mode(&wallet.dir().join(name)), 0o600, "{name}");
        }
        assert_eq!(mode(wallet.dir()), 0o700);
    }

    #[test]
    fn a_keystore_whose_recorded_address_was_edited_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = Wallet::new(dir.path());
        let alice = wallet.create("alice", "pw").unwrap();
        let bob = wallet.create("bob", "pw").unwrap();
        // Alice's file now claims Bob's address.
        let path = dir.path().join("alice");
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        json["address"] = alloy::primitives::hex::encode(bob.address.unwrap()).into();
        std::fs::write(&path, json.to_string()).unwrap();
        let refused = |key: &str| match wallet.unlock(key, "pw") {
            Err(WalletError::AddressMismatch {
                name,
                recorded,
                actual,
            }) => {
                assert_eq!(name, "alice");
                assert_eq!(Some(recorded), bob.address);
                assert_eq!(Some(actual), alice.address);
            }
            other => panic!("{key}: {other:?}"),
        };
        refused("alice");
        // Bob's address names Alice's edited file first: refused, not Alice's key handed out
        // as Bob's.
        refused(&bob.address.unwrap().to_string());
        assert_eq!(
            Some(wallet.unlock("bob", "pw").unwrap().address()),
            bob.address
        );
    }
}
