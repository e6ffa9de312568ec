//! The lake on object storage: `s3://bucket/prefix` (Amazon S3 or any S3-compatible service),
//! read through the `object_store` crate, with credentials, region and endpoint from the usual
//! `AWS_*` environment variables.
//!
//! The layout under the prefix is the local one (`gridmark.json`, `_commits/`, `tables/`), so
//! a lake is published by copying: [`publish`] uploads the Parquet files of a local lake's
//! latest snapshot that the bucket lacks, and then that snapshot with a create-only put. The
//! snapshot goes last, so a reader never sees a commit whose files are not all there, and two
//! publishers cannot both write the same version.
//!
//! A lake on object storage is read-only here: the local writer's lock and atomic renames have
//! no object-store equivalent in this version.

use crate::error::IoContext;
use crate::lake::{COMMITS_DIR, SETTINGS_FILE, Settings, commit_file_name};
use crate::{Lake, LakeError, Snapshot};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, WriteMultipart};
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use url::Url;

/// Files at least this big are uploaded in parts, so memory stays bounded.
const MULTIPART_FROM: u64 = 32 << 20;
const PART_SIZE: usize = 16 << 20;

/// Does `--data` name a lake on object storage rather than a folder?
pub fn is_remote(location: &str) -> bool {
    location.contains("://")
}

/// A parsed `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLocation {
    pub bucket: String,
    /// No leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl RemoteLocation {
    pub fn parse(location: &str) -> Result<Self, LakeError> {
        let bad = |reason: String| LakeError::Location {
            location: location.into(),
            reason,
        };
        let (scheme, rest) = location
            .split_once("://")
            .ok_or_else(|| bad("expected s3://bucket/prefix".into()))?;
        if scheme != "s3" {
            return Err(bad(format!(
                "{scheme}:// is not supported; the lake can be a folder or s3://bucket/prefix \
                 (S3 or an S3-compatible service through AWS_ENDPOINT)"
            )));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(bad(format!(
                "{bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' or '.')"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|part| part == "." || part == ".." || (part.is_empty() && !prefix.is_empty()))
        {
            return Err(bad(format!(
                "the prefix {prefix:?} has an empty, '.' or '..' part"
            )));
        }
        Ok(Self {
            bucket: bucket.into(),
            prefix: prefix.into(),
        })
    }

    /// `s3://bucket/prefix`, without a trailing `/`.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The object key of `rel`, a `/`-separated path inside the lake.
    fn key(&self, rel: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(rel)
        } else {
            StorePath::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn store(&self) -> Result<Arc<dyn ObjectStore>, LakeError> {
        s3_store(&self.bucket).map_err(|e| self.error("connecting", e))
    }

    fn error(&self, doing: &str, source: object_store::Error) -> LakeError {
        LakeError::ObjectStore {
            location: self.url(),
            doing: doing.into(),
            source: Box::new(source),
        }
    }
}

fn s3_store(bucket: &str) -> object_store::Result<Arc<dyn ObjectStore>> {
    Ok(Arc::new(
        AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?,
    ))
}

/// The settings and latest snapshot of a lake on object storage.
pub(crate) async fn read_remote(
    location: &RemoteLocation,
) -> Result<(Settings, Snapshot), LakeError> {
    let store = location.store()?;
    let settings_key = location.key(SETTINGS_FILE);
    let bytes = match store.get(&settings_key).await {
        Ok(got) => got
            .bytes()
            .await
            .map_err(|e| location.error("reading gridmark.json", e))?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(LakeError::NotALake {
                path: location.url().into(),
            });
        }
        Err(e) => return Err(location.error("reading gridmark.json", e)),
    };
    let settings =
        crate::lake::parse_settings(&bytes, &format!("{}/{SETTINGS_FILE}", location.url()))?;
    let snapshot = match latest_version(&store, location).await? {
        Some(version) => {
            let key = location.key(&format!("{COMMITS_DIR}/{}", commit_file_name(version)));
            let bytes = get_bytes(&store, location, &key, "reading the latest snapshot").await?;
            serde_json::from_slice(&bytes).map_err(|e| LakeError::Corrupt {
                path: format!("s3://{}/{key}", location.bucket).into(),
                reason: e.to_string(),
            })?
        }
        None => Snapshot::default(),
    };
    Ok((settings, snapshot))
}

async fn latest_version(
    store: &Arc<dyn ObjectStore>,
    location: &RemoteLocation,
) -> Result<Option<u64>, LakeError> {
    let commits = location.key(COMMITS_DIR);
    let listed: Vec<_> = store
        .list(Some(&commits))
        .try_collect()
        .await
        .map_err(|e| location.error("listing _commits/", e))?;
    Ok(listed
        .iter()
        .filter_map(|meta| {
            meta.location
                .filename()?
                .strip_suffix(".json")?
                .parse::<u64>()
                .ok()
        })
        .max())
}

/// Runs `work` to completion from synchronous code, inside or outside a Tokio runtime: on a
/// scoped thread with a runtime of its own. The object-store clients it makes die with that
/// runtime, so nothing it opened is reused elsewhere.
pub(crate) fn block_on<T: Send>(
    work: impl std::future::Future<Output = Result<T, LakeError>> + Send,
) -> Result<T, LakeError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .at(std::path::Path::new("a runtime for object storage"))?
                    .block_on(work)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// What [`publish`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PublishReport {
    pub target: String,
    pub version: u64,
    pub uploaded_files: usize,
    pub uploaded_bytes: u64,
    /// Files the bucket already held with the same size.
    pub skipped_files: usize,
    /// False when the bucket already had this very snapshot.
    pub committed: bool,
}

/// Copies a local lake's latest snapshot to `target` (`s3://bucket/prefix`): the missing
/// Parquet files, then the snapshot. Refuses when the bucket holds a newer or different
/// commit of the same version, so a publisher never overwrites another's work. `progress` is
/// called after each file with (files done, files to upload, bytes done).
pub async fn publish(
    lake: &Lake,
    target: &str,
    mut progress: impl FnMut(usize, usize, u64),
) -> Result<PublishReport, LakeError> {
    if lake.is_remote() {
        return Err(LakeError::Location {
            location: lake.root().display().to_string(),
            reason:
                "publish copies a local lake to object storage; run it where the lake is a folder"
                    .into(),
        });
    }
    let location = RemoteLocation::parse(target)?;
    let snapshot = lake.snapshot()?;
    if snapshot.version == 0 {
        return Err(LakeError::Location {
            location: lake.root().display().to_string(),
            reason: "the lake has no commits yet: nothing to publish".into(),
        });
    }
    let store = location.store()?;
    let mut report = PublishReport {
        target: location.url(),
        version: snapshot.version,
        ..PublishReport::default()
    };
    let commit_rel = format!("{COMMITS_DIR}/{}", commit_file_name(snapshot.version));
    let commit_bytes = serde_json::to_vec_pretty(&snapshot).expect("snapshot serializes");
    if let Some(remote) = latest_version(&store, &location).await? {
        if remote > snapshot.version {
            return Err(LakeError::Conflict {
                location: location.url(),
                reason: format!(
                    "it is at version {remote}, ahead of this lake's {}; publish from the lake that made it",
                    snapshot.version
                ),
            });
        }
        if remote == snapshot.version
            && !holds_snapshot(&store, &location, &commit_rel, &snapshot).await?
        {
            return Err(LakeError::Conflict {
                location: location.url(),
                reason: format!(
                    "its version {remote} is a different commit from this lake's; they have diverged"
                ),
            });
        }
    }

    // What the bucket already holds under tables/, by size: a file of the right size under a
    // name only one commit ever writes was uploaded whole (puts are atomic).
    let tables_prefix = location.key("tables");
    let existing: HashMap<String, u64> = store
        .list(Some(&tables_prefix))
        .map_ok(|meta| (meta.location.to_string(), meta.size))
        .try_collect()
        .await
        .map_err(|e| location.error("listing tables/", e))?;
    let mut todo = Vec::new();
    for rel in snapshot.live_paths() {
        let key = location.key(rel);
        let size = std::fs::metadata(lake.abs(rel)).at(&lake.abs(rel))?.len();
        if existing.get(key.as_ref()) == Some(&size) {
            report.skipped_files += 1;
        } else {
            todo.push((rel.to_string(), key, size));
        }
    }
    let total = todo.len();
    for (done, (rel, key, size)) in todo.into_iter().enumerate() {
        upload_file(&store, &location, &lake.abs(&rel), &key, size).await?;
        report.uploaded_files += 1;
        report.uploaded_bytes += size;
        progress(done + 1, total, report.uploaded_bytes);
    }

    let settings = serde_json::to_vec_pretty(lake.settings()).expect("settings serialize");
    store
        .put(&location.key(SETTINGS_FILE), settings.into())
        .await
        .map_err(|e| location.error("writing gridmark.json", e))?;
    let create = PutOptions::from(PutMode::Create);
    match store
        .put_opts(&location.key(&commit_rel), commit_bytes.into(), create)
        .await
    {
        Ok(_) => report.committed = true,
        Err(object_store::Error::AlreadyExists { .. }) => {
            // An earlier publish of this very snapshot (checked above), or another publisher
            // that got there between that check and now.
            if !holds_snapshot(&store, &location, &commit_rel, &snapshot).await? {
                return Err(LakeError::Conflict {
                    location: location.url(),
                    reason: format!(
                        "another publisher committed version {} while this one uploaded",
                        snapshot.version
                    ),
                });
            }
        }
        Err(e) => return Err(location.error("writing the snapshot", e)),
    }
    Ok(report)
}

/// Is the commit file at `rel` this very snapshot?
async fn holds_snapshot(
    store: &Arc<dyn ObjectStore>,
    location: &RemoteLocation,
    rel: &str,
    snapshot: &Snapshot,
) -> Result<bool, LakeError> {
    let theirs = get_bytes(
        store,
        location,
        &location.key(rel),
        "reading its latest snapshot",
    )
    .await?;
    Ok(serde_json::from_slice::<Snapshot>(&theirs).is_ok_and(|s| s == *snapshot))
}

/// The whole object at `key` (small metadata files); errors say what was being done.
async fn get_bytes(
    store: &Arc<dyn ObjectStore>,
    location: &RemoteLocation,
    key: &StorePath,
    doing: &str,
) -> Result<Vec<u8>, LakeError> {
    let got = store.get(key).await.map_err(|e| location.error(doing, e))?;
    let bytes = got.bytes().await.map_err(|e| location.error(doing, e))?;
    Ok(bytes.to_vec())
}

async fn upload_file(
    store: &Arc<dyn ObjectStore>,
    location: &RemoteLocation,
    path: &std::path::Path,
    key: &StorePath,
    size: u64,
) -> Result<(), LakeError> {
    let doing = format!("uploading {}", path.display());
    if size < MULTIPART_FROM {
        let bytes = std::fs::read(path).at(path)?;
        store
            .put(key, bytes.into())
            .await
            .map_err(|e| location.error(&doing, e))?;
        return Ok(());
    }
    let upload = store
        .put_multipart(key)
        .await
        .map_err(|e| location.error(&doing, e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut file = std::fs::File::open(path).at(path)?;
    let mut buf = vec![0u8; PART_SIZE];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        writer
            .wait_for_capacity(4)
            .await
            .map_err(|e| location.error(&doing, e))?;
        writer.write(&buf[..n]);
    }
    // Dropping an unfinished WriteMultipart aborts the upload, so a failure leaves no part.
    writer
        .finish()
        .await
        .map_err(|e| location.error(&doing, e))?;
    Ok(())
}

/// DataFusion's object stores for lake files: the local file system, and `s3://` buckets
/// made on first use from the `AWS_*` environment of the process that reads them (the client
/// embedded; the scheduler and every executor on a cluster).
#[derive(Debug, Default)]
pub struct LakeStores {
    local: DefaultObjectStoreRegistry,
    buckets: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl LakeStores {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        if url.scheme() == "s3" {
            let bucket = url.host_str().unwrap_or_default().to_string();
            return self
                .buckets
                .lock()
                .expect("store map lock")
                .insert(bucket, store);
        }
        self.local.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if url.scheme() != "s3" {
            return self.local.get_store(url);
        }
        let bucket = url.host_str().unwrap_or_default();
        let mut buckets = self.buckets.lock().expect("store map lock");
        if let Some(store) = buckets.get(bucket) {
            return Ok(store.clone());
        }
        let store = s3_store(bucket).map_err(|e| {
            datafusion::error::DataFusionError::External(
                format!("s3://{bucket}: {e} (set AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT for an S3-compatible service)").into(),
            )
        })?;
        buckets.insert(bucket.to_string(), store.clone());
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_or_say_what_is_wrong() {
        let at = RemoteLocation::parse("s3://grid-lake/prod/east/").unwrap();
        assert_eq!(at.bucket, "grid-lake");
        assert_eq!(at.prefix, "prod/east");
        assert_eq!(at.url(), "s3://grid-lake/prod/east");
        assert_eq!(
            at.key("_commits/1.json").as_ref(),
            "prod/east/_commits/1.json"
        );
        let root = RemoteLocation::parse("s3://grid-lake").unwrap();
        assert_eq!(root.url(), "s3://grid-lake");
        assert_eq!(root.key("gridmark.json").as_ref(), "gridmark.json");
        for (bad, says) in [
            ("gs://bucket/x", "gs:// is not supported"),
            ("s3:///x", "not a bucket name"),
            ("s3://Upper/x", "not a bucket name"),
            ("s3://bucket/a//b", "empty, '.' or '..' part"),
            ("s3://bucket/a/../b", "empty, '.' or '..' part"),
        ] {
            let e = RemoteLocation::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(bad), "{bad}: {e}");
        }
        assert!(is_remote("s3://b/p") && !is_remote("/data/lake") && !is_remote("lake"));
    }

    #[test]
    fn the_registry_hands_out_local_stores_and_one_client_per_bucket() {
        let stores = LakeStores::default();
        assert!(stores.get_store(&Url::parse("file:///").unwrap()).is_ok());
        // Building an S3 client does no I/O, so this needs no service.
        let a = stores
            .get_store(&Url::parse("s3://bucket-one/x/y.parquet").unwrap())
            .unwrap();
        let b = stores
            .get_store(&Url::parse("s3://bucket-one/z.parquet").unwrap())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = stores
            .get_store(&Url::parse("s3://bucket-two/z.parquet").unwrap())
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
