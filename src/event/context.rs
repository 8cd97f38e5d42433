//! Where a call came from, folded to what a habit is made of: the caller's network and the
//! family of its tool. A person on the office network with the AWS CLI makes the same habit
//! whatever the last octet of the NAT address or the CLI's patch version; a stolen key used
//! from a rented server with a Python script does not.

use std::net::{IpAddr, Ipv6Addr};

/// The network of a `sourceIPAddress`: `a.b.c.0/24` for IPv4, the `/48` prefix for IPv6, and
/// anything that is not an address (an AWS service's DNS name such as `config.amazonaws.com`,
/// `AWS Internal`) as it is: those name their own origin.
pub fn network_of(source_ip: &str) -> String {
    match source_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
        Err(_) => source_ip.to_string(),
    }
}

/// Tool families, most specific first: the first marker found in a user agent names its family.
/// Terraform's agent also names the Go SDK it is built on, and a console call may carry a
/// browser's agent, so the order matters.
const FAMILIES: &[(&str, &str)] = &[
    ("console.amazonaws.com", "console"),
    ("signin.amazonaws.com", "console"),
    ("[S3Console", "console"),
    ("Mozilla/", "console"),
    ("Terraform", "terraform"),
    ("terraform-provider-aws", "terraform"),
    ("pulumi", "pulumi"),
    ("aws-cli/", "aws-cli"),
    ("aws-sdk-go-v2", "aws-sdk-go-v2"),
    ("aws-sdk-go/", "aws-sdk-go"),
    ("aws-sdk-java", "aws-sdk-java"),
    ("aws-sdk-js", "aws-sdk-js"),
    ("aws-sdk-nodejs", "aws-sdk-js"),
    ("aws-sdk-dotnet", "aws-sdk-dotnet"),
    ("aws-sdk-net", "aws-sdk-dotnet"),
    ("aws-sdk-ruby", "aws-sdk-ruby"),
    ("aws-sdk-php", "aws-sdk-php"),
    ("aws-sdk-rust", "aws-sdk-rust"),
    ("aws-sdk-cpp", "aws-sdk-cpp"),
    ("python-requests", "python-requests"),
    ("Boto3/", "boto3"),
    ("Botocore/", "boto3"),
    ("botocore/", "boto3"),
    ("curl/", "curl"),
];

/// The family of a `userAgent`, versions folded: `aws-cli`, `boto3`, `console`, `terraform`,
/// `aws-sdk-go-v2`, … An AWS service calling for a principal (`config.amazonaws.com`) is its
/// own family, `AWS Internal` (the console's back end) is `console`; an agent of no known family is its first word
/// without version (`Wget/1.21` → `wget`).
pub fn agent_family(user_agent: &str) -> String {
    let ua = user_agent.trim();
    if ua.is_empty() {
        return "unknown".into();
    }
    if ua == "AWS Internal" {
        // What the console's own back end calls for the signed-in user carry (CloudTrail's
        // userAgent documentation): the console, as a tool.
        return "console".into();
    }
    if ua.ends_with(".amazonaws.com") && !ua.contains(' ') && ua != "console.amazonaws.com" {
        return ua.to_string();
    }
    if let Some((_, family)) = FAMILIES.iter().find(|(marker, _)| ua.contains(marker)) {
        return (*family).to_string();
    }
    let word = ua
        .split(|c: char| c == '/' || c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let word: String = word
        .chars()
        .take(40)
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect::<String>()
        .to_ascii_lowercase();
    if word.is_empty() {
        "unknown".into()
    } else {
        word
    }
}

/// Whether an error code is a read's answer that an optional configuration is not set
/// (`NoSuchBucketPolicy`, `NoSuchTagSet`, `NoSuchCORSConfiguration`,
/// `ServerSideEncryptionConfigurationNotFoundError`, `RepositoryPolicyNotFoundException`, …)
/// rather than a failure. Every inventory of a bucket or a repository — the Config recorder,
/// Terraform's refresh, a CSPM scanner — asks for each sub-configuration and is told "none" for
/// most of them; a stolen key is denied, or answered. Missing resources themselves
/// (`NoSuchBucket`, `NoSuchKey`, `NoSuchEntity`) are not in this set.
pub fn absent_configuration(error_code: &str) -> bool {
    let c = error_code;
    (c.starts_with("NoSuch")
        && ["Configuration", "Policy", "TagSet"]
            .iter()
            .any(|end| c.ends_with(end)))
        || [
            "ConfigurationNotFound",
            "PolicyNotFound",
            "ControlsNotFound",
        ]
        .iter()
        .any(|m| c.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_configurations_are_answers_and_missing_resources_are_not() {
        for code in [
            "NoSuchBucketPolicy",
            "NoSuchTagSet",
            "NoSuchLifecycleConfiguration",
            "NoSuchCORSConfiguration",
            "NoSuchWebsiteConfiguration",
            "NoSuchPublicAccessBlockConfiguration",
            "ReplicationConfigurationNotFoundError",
            "ObjectLockConfigurationNotFoundError",
            "ServerSideEncryptionConfigurationNotFoundError",
            "OwnershipControlsNotFoundError",
            "RepositoryPolicyNotFoundException",
            "LifecyclePolicyNotFoundException",
        ] {
            assert!(absent_configuration(code), "{code}");
        }
        for code in [
            "NoSuchBucket",
            "NoSuchKey",
            "NoSuchEntity",
            "AccessDenied",
            "ResourceNotFoundException",
            "Client.UnauthorizedOperation",
            "ThrottlingException",
        ] {
            assert!(!absent_configuration(code), "{code}");
        }
    }

    #[test]
    fn networks_fold_addresses_and_keep_service_names() {
        assert_eq!(network_of("54.87.120.14"), "54.87.120.0/24");
        assert_eq!(network_of("54.87.120.201"), "54.87.120.0/24");
        assert_eq!(network_of("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
        assert_eq!(network_of("config.amazonaws.com"), "config.amazonaws.com");
        assert_eq!(network_of("AWS Internal"), "AWS Internal");
    }

    #[test]
    fn agent_families_fold_versions() {
        let cli = "aws-cli/2.18.0 md/awscrt#0.22.0 ua/2.0 os/macos#24.0.0 md/arch#arm64 lang/python#3.12.6";
        let cli_old = "aws-cli/1.29.1 Python/3.9.2 Linux/5.10 botocore/1.31.1";
        assert_eq!(agent_family(cli), "aws-cli");
        assert_eq!(agent_family(cli_old), "aws-cli");
        let tf = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.72.1 aws-sdk-go-v2/1.32.2";
        assert_eq!(agent_family(tf), "terraform");
        assert_eq!(
            agent_family("aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22.4"),
            "aws-sdk-go-v2"
        );
        assert_eq!(
            agent_family(
                "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 exec-env/AWS_Lambda_python3.12"
            ),
            "boto3"
        );
        assert_eq!(
            agent_family(
                "python-requests/2.31.0 Boto3/1.26.0 Python/3.10.12 Linux/6.5.0-kali3-amd64"
            ),
            "python-requests"
        );
        assert_eq!(agent_family("console.amazonaws.com"), "console");
        assert_eq!(
            agent_family("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
            "console"
        );
        assert_eq!(agent_family("config.amazonaws.com"), "config.amazonaws.com");
        assert_eq!(agent_family("AWS Internal"), "console");
        assert_eq!(agent_family("Wget/1.21.3"), "wget");
        assert_eq!(agent_family(""), "unknown");
        assert_eq!(agent_family("1.2.3"), "unknown");
    }
}
