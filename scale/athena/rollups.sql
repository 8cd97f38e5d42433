-- trailsight's rollups as Athena (Trino) SQL over the `cloudtrail_logs` table of
-- cloudtrail_table.sql: the same management-event rule, principal rules, deduplication by
-- eventID within the UTC day, and the `calls`, `detail` and eventID tables, unloaded as Parquet
-- partitioned by day. scale/athena/to_state.py then turns the three unloads into a trailsight
-- state directory (exact column types, file names, eventID fingerprints, manifest.json).
--
-- The data-event APIs and read-only prefixes between the BEGIN/END marker comments are written
-- from models/classification.toml by sync_classification.py (trailsight's own tables; `cargo
-- test` fails when they differ): edit the TOML, then run that script.
--
-- Run the statements in order. Replace s3://amzn-s3-demo-bucket/trailsight-unload/ (each UNLOAD
-- target must be empty). To process a date range, add to the WHERE of trailsight_events:
--   AND "timestamp" BETWEEN '2026/01/04' AND '2026/02/01'   -- delivery dates: one day of slack
-- and keep the event-time filter of the last CTE (t >= ... AND t < ...).
--
-- Checked here: parsed by check_syntax.py (sqlglot's Athena dialect; UNLOAD's form by pattern),
-- and every statement below executed on DuckDB over the simulated trail, through
-- scale/athena/run_duckdb.py, which defines five Trino functions DuckDB lacks as macros and runs
-- each UNLOAD's SELECT with COPY ... (FORMAT PARQUET, PARTITION_BY (day)). Not executed on Athena.
--
-- Known differences from `trailsight ingest` (none occur in CloudTrail's own S3 delivery):
--  * records without an eventID are skipped (trailsight fingerprints their bytes instead);
--  * malformed records are nulled or dropped by the JSON SerDe, not counted (the Spark job and
--    trailsight count them); eventTime must be ISO 8601 with 'T' and a zone;
--  * user agents over 512 characters are cut by characters, not UTF-8 bytes;
--  * two different records with the same eventID on the same day: trailsight counts the first
--    it reads, this SQL the first by the ORDER BY of `ranked` (redeliveries are identical).

CREATE OR REPLACE VIEW trailsight_events AS
WITH parsed AS (
    SELECT
        CASE
            WHEN regexp_like(eventtime, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$')
            THEN CAST(floor(to_unixtime(from_iso8601_timestamp(eventtime))) AS BIGINT)
        END AS t,
        nullif(eventid, '') AS event_id,
        nullif(eventsource, '') AS event_source,
        nullif(eventname, '') AS event_name,
        -- event/mod.rs classify: insight, then eventCategory, then managementEvent, then the
        -- pre-1.06 rule (object/item-level APIs are data events).
        CASE
            WHEN eventtype = 'AwsCloudTrailInsight' THEN 'insight'
            WHEN eventcategory = 'Management' THEN 'management'
            WHEN eventcategory IN ('Data', 'Insight', 'NetworkActivity') THEN 'other'
            WHEN lower(managementevent) = 'true' THEN 'management'
            WHEN lower(managementevent) = 'false' THEN 'other'
            -- BEGIN data_events: generated from models/classification.toml
            WHEN eventsource = 's3.amazonaws.com' AND eventname IN (
                'GetObject', 'PutObject', 'DeleteObject', 'DeleteObjects', 'HeadObject',
                'CopyObject', 'GetObjectAcl', 'PutObjectAcl', 'GetObjectTagging',
                'PutObjectTagging', 'DeleteObjectTagging', 'GetObjectAttributes', 'RestoreObject',
                'SelectObjectContent', 'UploadPart', 'UploadPartCopy', 'CreateMultipartUpload',
                'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts',
                'GetObjectRetention', 'PutObjectRetention', 'GetObjectLegalHold',
                'PutObjectLegalHold') THEN 'other'
            WHEN eventsource = 'lambda.amazonaws.com' AND eventname IN (
                'Invoke', 'InvokeAsync', 'InvokeWithResponseStream') THEN 'other'
            WHEN eventsource = 'dynamodb.amazonaws.com' AND eventname IN (
                'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem', 'BatchWriteItem',
                'Query', 'Scan', 'TransactGetItems', 'TransactWriteItems') THEN 'other'
            -- END data_events
            ELSE 'management'
        END AS class,
        CASE
            WHEN lower(readonly) = 'true' THEN true
            WHEN lower(readonly) = 'false' THEN false
            -- BEGIN read_only_prefixes: generated from models/classification.toml
            ELSE regexp_like(eventname, '^(Describe|List|Get|Head|Lookup|BatchGet|Search|Query|Scan)')
            -- END read_only_prefixes
        END AS read_only,
        nullif(errorcode, '') AS error_code,
        -- event/mod.rs principal: the issuing role for assumed roles and federated users (the
        -- session ARN kept as detail), the service for AWS services, else the ARN; fallbacks
        -- principalId, userName, account:<id>, unknown.
        CASE
            WHEN useridentity.type IN ('AssumedRole', 'FederatedUser') THEN coalesce(
                nullif(useridentity.sessioncontext.sessionissuer.arn, ''), nullif(useridentity.arn, ''),
                nullif(useridentity.principalid, ''), nullif(useridentity.username, ''),
                'account:' || nullif(useridentity.accountid, ''), 'unknown')
            WHEN useridentity.type = 'AWSService' THEN coalesce(
                nullif(useridentity.invokedby, ''),
                nullif(useridentity.principalid, ''), nullif(useridentity.username, ''),
                'account:' || nullif(useridentity.accountid, ''), 'unknown')
            ELSE coalesce(
                nullif(useridentity.arn, ''),
                nullif(useridentity.principalid, ''), nullif(useridentity.username, ''),
                'account:' || nullif(useridentity.accountid, ''), 'unknown')
        END AS principal,
        coalesce(nullif(useridentity.type, ''), 'Unknown') AS principal_type,
        CASE
            WHEN useridentity.type IN ('AssumedRole', 'FederatedUser')
                AND nullif(useridentity.sessioncontext.sessionissuer.arn, '') IS NOT NULL
            THEN nullif(useridentity.arn, '')
        END AS session_arn,
        nullif(useridentity.accesskeyid, '') AS access_key_id,
        substr(coalesce(sourceipaddress, ''), 1, 512) AS source_ip,
        substr(coalesce(useragent, ''), 1, 512) AS user_agent,
        coalesce(nullif(recipientaccountid, ''), nullif(useridentity.accountid, ''), 'unknown') AS account,
        coalesce(nullif(awsregion, ''), 'unknown') AS region
    FROM cloudtrail_logs
),
ranked AS (
    SELECT
        p.*,
        t - mod(t, 86400) AS day_start,
        -- Redeliveries are identical records; should two differ, one is kept deterministically.
        row_number() OVER (
            PARTITION BY t - mod(t, 86400), event_id
            ORDER BY t, principal, user_agent, source_ip, error_code, session_arn, access_key_id
        ) AS copy
    FROM parsed p
    WHERE class = 'management' AND t IS NOT NULL AND event_id IS NOT NULL
        AND event_source IS NOT NULL AND event_name IS NOT NULL
        -- ingest/mod.rs PlausibleTimes: nothing before CloudTrail existed (2013-11-01), nothing
        -- more than a day after the query's clock.
        AND t >= 1383264000 AND t <= CAST(floor(to_unixtime(current_timestamp)) AS BIGINT) + 86400
)
SELECT
    t, event_id, event_source, event_name, read_only, error_code, principal, principal_type,
    session_arn, access_key_id, source_ip, user_agent, account, region,
    CAST(CAST(from_unixtime(day_start) AS DATE) AS VARCHAR) AS day
FROM ranked
WHERE copy = 1;

-- calls: per API and minute, calls and failed calls (minute as epoch seconds).
UNLOAD (
    SELECT
        account, region, event_source, event_name, read_only,
        t - mod(t, 60) AS minute,
        count(*) AS calls,
        count_if(error_code IS NOT NULL) AS errors,
        day
    FROM trailsight_events
    GROUP BY account, region, event_source, event_name, read_only, t - mod(t, 60), day
) TO 's3://amzn-s3-demo-bucket/trailsight-unload/calls/'
WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['day']);

-- detail: per API, 5-minute bucket, principal, principal type, user agent, source IP and error
-- code, the calls and the example event: the smallest eventID, with its session and key.
UNLOAD (
    SELECT
        account, region, event_source, event_name, read_only, bucket, principal,
        principal_type, user_agent, source_ip, error_code,
        count(*) AS calls,
        max(CASE WHEN first = 1 THEN event_id END) AS example_event_id,
        max(CASE WHEN first = 1 THEN session_arn END) AS session_arn,
        max(CASE WHEN first = 1 THEN access_key_id END) AS access_key_id,
        day
    FROM (
        SELECT
            e.*,
            t - mod(t, 300) AS bucket,
            row_number() OVER (
                PARTITION BY account, region, event_source, event_name, read_only,
                    t - mod(t, 300), principal, principal_type, user_agent, source_ip, error_code
                ORDER BY event_id
            ) AS first
        FROM trailsight_events e
    ) x
    GROUP BY account, region, event_source, event_name, read_only, bucket, principal,
        principal_type, user_agent, source_ip, error_code, day
) TO 's3://amzn-s3-demo-bucket/trailsight-unload/detail/'
WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['day']);

-- The day's eventIDs, from which to_state.py writes the fingerprint files that let a later
-- `trailsight ingest` on the same state skip events already counted.
UNLOAD (
    SELECT event_id, day FROM trailsight_events
) TO 's3://amzn-s3-demo-bucket/trailsight-unload/ids/'
WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['day']);
