//! One clear error per failure of a remote source, naming the bucket or region and what to fix.
//! Messages are built from error codes and the SDK's error chain, which never carries secrets
//! (the SDK redacts credentials in Debug output and never puts them in messages).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A remote source failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The bucket could not be listed or read.
    #[error("s3://{bucket}: {reason}")]
    S3 {
        /// Bucket name.
        bucket: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// Listing the bucket's keys under a prefix failed.
    #[error("s3://{bucket}: listing {prefix}: {reason}")]
    S3Listing {
        /// Bucket name.
        bucket: String,
        /// The prefix being listed.
        prefix: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// One of the concurrent listing or download tasks panicked or was cancelled.
    #[error("s3://{bucket}: {task} task failed: {error}")]
    S3Task {
        /// Bucket name.
        bucket: String,
        /// What the task did: `listing` or `download`.
        task: &'static str,
        /// Why it did not finish.
        error: tokio::task::JoinError,
    },
    /// The event history could not be read.
    #[error("cloudtrail://{region}: {reason}")]
    History {
        /// Region.
        region: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// A source's progress file under `<state>/sources/` could not be read or written.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// No region for the event history.
    #[error("no region for {0}: give one (cloudtrail://us-east-1), --region, or AWS_REGION")]
    NoRegion(String),
    /// The async runtime could not start.
    #[error("cannot start the AWS client runtime: {0}")]
    Runtime(String),
}

const SEE: &str = "see README 'Point it at your account' for the IAM policy";

/// What a failed request means for the user, by service error code, HTTP status, or the
/// kind of dispatch failure.
pub(crate) fn explain<E>(err: &SdkError<E, HttpResponse>, needs: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = match err {
        SdkError::ServiceError(s) => s.err().code().map(str::to_string),
        _ => None,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let detail = DisplayErrorContext(err).to_string();
    match (code.as_deref(), status) {
        (Some("NoSuchBucket"), _) | (None, Some(404)) => {
            "the bucket does not exist: check the name (and --endpoint-url for an S3-compatible store)".to_string()
        }
        (
            Some(
                c @ ("InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "InvalidToken"
                | "TokenRefreshRequired"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"),
            ),
            _,
        ) => format!(
            "the AWS credentials were rejected ({c}): they are wrong or expired; refresh them (aws sso login, new access keys) or pick another --profile"
        ),
        (Some(c @ ("AccessDenied" | "AccessDeniedException" | "AllAccessDisabled")), _) => {
            format!("access denied ({c}): the credentials in use need {needs}; {SEE}")
        }
        (None, Some(403)) => format!(
            "access denied (HTTP 403): the credentials are invalid or expired, or lack {needs}; {SEE}"
        ),
        (Some(c @ "PermanentRedirect"), _) | (Some(c @ "AuthorizationHeaderMalformed"), _) => {
            format!("the bucket is in another region ({c}): pass its region with --region")
        }
        (Some(c), _) => format!("{c}: {detail}"),
        (None, _) if detail.to_ascii_lowercase().contains("credential") => format!(
            "no usable AWS credentials: set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login` ({detail})"
        ),
        (None, _) if matches!(err, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) => {
            format!(
                "cannot reach the endpoint ({detail}): check --endpoint-url, --region and the network"
            )
        }
        (None, _) => detail,
    }
}
