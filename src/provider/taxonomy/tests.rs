//! The taxonomy's tables, checked against the bodies the providers send
//! (the sources are cited beside each row).

use super::*;

/// Each (status, body, blame): real bodies, as the sources cited in the
/// tables show them.
fn check(kind: ProviderKind, cases: &[(u16, &str, Blame)]) {
    for (status, body, want) in cases {
        assert_eq!(
            blame(kind, *status, body.as_bytes()),
            *want,
            "{status} {body}"
        );
    }
}

#[test]
fn gemini_errors() {
    use ProviderKind::Gemini as G;
    let cases: &[(u16, &str, Blame)] = &[
        (
            400,
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}"#,
            Account(Credentials),
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#,
            Account(Credentials),
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#,
            Account(Region),
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"User location is not supported for the API use without a billing account linked.","status":"FAILED_PRECONDITION"}}"#,
            Account(Billing),
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"foo\": Cannot find field.","status":"INVALID_ARGUMENT"}}"#,
            Client,
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}}"#,
            Account(Credentials),
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"Generative Language API has not been used in project 123 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=123 then retry.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com","metadata":{"consumer":"projects/123","service":"generativelanguage.googleapis.com"}}]}}"#,
            Account(Permission),
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"Permission denied: Consumer 'api_key:AIza...' has been suspended.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"CONSUMER_SUSPENDED","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com","consumer":"projects/578829824020"}}]}}"#,
            Account(Suspended),
        ),
        (
            404,
            r#"{"error":{"code":404,"message":"models/gemini-2.0-pro is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}"#,
            Model,
        ),
        (
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"250"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"22s"}]}}"#,
            Quota(Span::Day),
        ),
        (
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"},{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}}"#,
            Quota(Span::Day),
        ),
        (
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateContentInputTokensPerModelPerMinute-FreeTier","quotaValue":"250000"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}}"#,
            Quota(Span::Minute),
        ),
        (
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro","status":"RESOURCE_EXHAUSTED"}}"#,
            Model,
        ),
        (
            500,
            r#"{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}"#,
            Transient,
        ),
        (
            503,
            r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#,
            Transient,
        ),
        (
            503,
            r#"[{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}]"#,
            Transient,
        ),
        (502, "<html><body>Bad gateway</body></html>", Transient),
    ];
    check(G, cases);
}

#[test]
fn code_assist_errors() {
    use ProviderKind::GoogleOauth as C;
    let cases: &[(u16, &str, Blame)] = &[
        (
            429,
            r#"{"error":{"code":429,"message":"You have exhausted your capacity on this model. Your quota will reset after 161h39m41s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"QUOTA_EXHAUSTED","domain":"cloudcode-pa.googleapis.com","metadata":{"uiMessage":"true","model":"claude-sonnet-4-5","quotaResetDelay":"161h39m41.300432511s","quotaResetTimeStamp":"2025-12-18T20:18:34Z"}},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"581981.300432511s"}]}}"#,
            Quota(Span::Stated),
        ),
        (
            429,
            r#"{"error":{"code":429,"message":"You have exhausted your capacity on this model. Your quota will reset after 0s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"cloudcode-pa.googleapis.com","metadata":{"uiMessage":"true","model":"gemini-2.5-pro","quotaResetDelay":"539.477544ms","quotaResetTimeStamp":"2025-10-20T19:14:08Z"}},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.539477544s"}]}}"#,
            Quota(Span::Minute),
        ),
        (
            503,
            r#"{"error":{"code":503,"message":"No capacity available for model gemini-3.1-pro-preview on the server","status":"UNAVAILABLE","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"MODEL_CAPACITY_EXHAUSTED","domain":"cloudcode-pa.googleapis.com","metadata":{"model":"gemini-3.1-pro-preview"}}]}}"#,
            Transient,
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"The caller does not have permission","errors":[{"message":"The caller does not have permission","domain":"global","reason":"forbidden"}],"status":"PERMISSION_DENIED"}}"#,
            Account(Permission),
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"Permission denied on resource project default.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"CONSUMER_INVALID","domain":"googleapis.com","metadata":{"containerInfo":"default","consumer":"projects/default","service":"cloudaicompanion.googleapis.com"}}]}}"#,
            Account(Setup),
        ),
        (
            401,
            r#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}"#,
            Account(Credentials),
        ),
        (
            400,
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
            Account(Credentials),
        ),
    ];
    check(C, cases);
}

#[test]
fn anthropic_errors() {
    use ProviderKind::Anthropic as A;
    let cases: &[(u16, &str, Blame)] = &[
        (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."},"request_id":"req_011CbrFTcXhtiMzr3s6EocF7"}"#,
            Account(Billing),
        ),
        (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"This organization has been disabled."},"request_id":"req_011CXF1SZ3S3oXChsdxhoUwV"}"#,
            Account(Suspended),
        ),
        (
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"},"request_id":"req_011CVQe1dLrGNMJyE1ghG1av"}"#,
            Client,
        ),
        (
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CaJCR7Pm2Jh2LbWpBH5Y6"}"#,
            Account(Credentials),
        ),
        (
            403,
            r#"{"type":"error","error":{"type":"permission_error","message":"Permission denied"},"request_id":"req_011CaH53rCYtDAVnwhLQvkuc"}"#,
            Account(Permission),
        ),
        (
            404,
            r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-3-5-sonnet-20241022 "}}"#,
            Model,
        ),
        (
            413,
            r#"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#,
            Client,
        ),
        (
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization (0dccdde6-f924-4f1b-bb3b-92ef846e0a5b) of 20,000 input tokens per minute."}}"#,
            Quota(Span::Minute),
        ),
        (
            500,
            r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
            Transient,
        ),
        (
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CZAau32QzxDkriovTaFCB"}"#,
            Transient,
        ),
    ];
    check(A, cases);
}

#[test]
fn openai_and_compatible_errors() {
    use ProviderKind::Openai as O;
    let cases: &[(u16, &str, Blame)] = &[
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-VKMIs***wjh3. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            Account(Credentials),
        ),
        (
            403,
            r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
            Account(Region),
        ),
        (
            404,
            r#"{"error":{"message":"The model `gpt-4o` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
            Model,
        ),
        (
            400,
            r#"{"error":{"message":"The requested model 'gpt-4-1106-preview' does not exist.","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#,
            Model,
        ),
        (
            400,
            r#"{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 4118 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            Client,
        ),
        (
            429,
            r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
            Account(Billing),
        ),
        (
            429,
            r#"{"error":{"message":"Rate limit reached for o4-mini in organization org-*** on tokens per min (TPM): Limit 200000, Used 162960, Requested 42288. Please try again in 1.574s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
            Quota(Span::Minute),
        ),
        (
            500,
            r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#,
            Transient,
        ),
        // DeepSeek.
        (
            401,
            r#"{"error":{"message":"Authentication Fails, Your api key: ****18b\" is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}"#,
            Account(Credentials),
        ),
        (
            402,
            r#"{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}"#,
            Account(Billing),
        ),
        (
            422,
            r#"{"error":{"message":"Invalid Parameters","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#,
            Client,
        ),
        (
            503,
            r#"{"error":{"message":"Server Overloaded","type":"unknown_error","param":null,"code":null}}"#,
            Transient,
        ),
        // Zhipu GLM.
        (
            429,
            r#"{"error":{"code":"1113","message":"余额不足或无可用资源包,请充值。"}}"#,
            Account(Billing),
        ),
        (
            429,
            r#"{"error":{"code":"1302","message":"Rate limit reached for requests"}}"#,
            Quota(Span::Minute),
        ),
        // Ollama, native and OpenAI-compatible.
        (
            404,
            r#"{"error":"model 'llama3' not found, try pulling it first"}"#,
            Model,
        ),
        (
            404,
            r#"{"error":{"message":"model \"ollama\" not found, try pulling it first","type":"api_error","param":null,"code":null}}"#,
            Model,
        ),
    ];
    check(O, cases);
}

#[test]
fn errors_keep_their_message_and_get_a_kind_that_fails_over() {
    let e = upstream_error(
        ProviderKind::Gemini,
        400,
        br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#,
    );
    assert_eq!(e.kind, Kind::PermissionDenied);
    assert!(e.retryable());
    assert!(e.message.contains("API key not valid"), "{}", e.message);
    let e = upstream_error(
        ProviderKind::Gemini,
        400,
        br#"{"error":{"code":400,"message":"bad field","status":"INVALID_ARGUMENT"}}"#,
    );
    assert_eq!((e.kind, e.retryable()), (Kind::InvalidRequest, false));
    // The day's limit, as the project's tier has it.
    let e = upstream_error(
        ProviderKind::Gemini,
        429,
        br#"{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"250"}]}]}}"#,
    );
    assert_eq!(
        (e.blame, e.quota_limit),
        (Some(Quota(Span::Day)), Some(250))
    );
}

#[test]
fn prompts_past_the_window_are_told_apart() {
    let cases: &[(ProviderKind, &str, Option<u64>, Option<u64>)] = &[
        (
            ProviderKind::Gemini,
            r#"{"error":{"code":400,"message":"The input token count (1196265) exceeds the maximum number of tokens allowed (1048575).","status":"INVALID_ARGUMENT"}}"#,
            Some(1_196_265),
            Some(1_048_575),
        ),
        (
            ProviderKind::Gemini,
            r#"[{"error":{"code":400,"message":"The input token count exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}]"#,
            None,
            Some(1_048_576),
        ),
        (
            ProviderKind::Openai,
            r#"{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 4118 tokens (3000 in the messages, 1118 in the completion).","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            Some(4118),
            Some(4096),
        ),
        (
            ProviderKind::Anthropic,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#,
            Some(208_310),
            Some(200_000),
        ),
    ];
    for (kind, body, tokens, max) in cases {
        let e = upstream_error(*kind, 400, body.as_bytes());
        assert_eq!(
            e.overflow,
            Some(Overflow {
                tokens: *tokens,
                max: *max
            }),
            "{body}"
        );
        assert_eq!((e.blame, e.status()), (Some(Client), 400), "{body}");
    }
    let e = upstream_error(
        ProviderKind::Gemini,
        400,
        br#"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#,
    );
    assert_eq!(e.overflow, None);
}
