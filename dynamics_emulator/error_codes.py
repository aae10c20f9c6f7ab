"""Every error code the emulator sends, with the Microsoft page each one comes from.

One table, declared once: `DataverseError` refuses a code that is not in it, and a test checks
that every entry names its source. `code` is the value of `error.code` as Dataverse sends it
(hex as the Web API writes it, `"0x0"` or `""` where Microsoft's pages show those). `note` says
what the page shows, or, where it shows no code for the situation, that the code is our choice
and why.

Where Microsoft's pages disagree with each other, the page that shows the Web API answer wins
over the SDK's code list (the code list names the SDK fault; the Web API writes the same value in
hex).
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR_CODES_PAGE = ("https://learn.microsoft.com/power-apps/developer/data-platform/reference/"
                    "web-service-error-codes")
CLIENT_ERRORS_PAGE = ("https://learn.microsoft.com/troubleshoot/power-platform/power-apps/"
                      "dataverse/web-api-client-errors")
BATCH_PAGE = ("https://learn.microsoft.com/power-apps/developer/data-platform/webapi/"
              "execute-batch-operations-using-web-api")
QUERY_PAGE = "https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview"
CONDITIONAL_PAGE = ("https://learn.microsoft.com/power-apps/developer/data-platform/webapi/"
                    "perform-conditional-operations-using-web-api")
API_LIMITS_PAGE = "https://learn.microsoft.com/power-apps/developer/data-platform/api-limits"
CHANGE_TRACKING_PAGE = ("https://learn.microsoft.com/power-apps/developer/data-platform/"
                        "use-change-tracking-synchronize-data-external-systems")
BULK_PAGE = ("https://learn.microsoft.com/power-apps/developer/data-platform/"
             "bulk-operations")
HANDLE_ERRORS_PAGE = ("https://learn.microsoft.com/power-apps/developer/data-platform/webapi/"
                      "compose-http-requests-handle-errors")


@dataclass(frozen=True)
class ErrorCode:
    """One row of the table: the code on the wire, Dataverse's name for it, and its source."""

    code: str
    name: str
    doc: str
    note: str = ""


_TABLE = (
    ErrorCode("0x8006088a", "ResourceNotFoundForSegment", CLIENT_ERRORS_PAGE,
              "404 \"Resource not found for the segment 'Account'.\""),
    ErrorCode("0x0", "PropertyNotFound", CLIENT_ERRORS_PAGE,
              "400 \"Could not find a property named 'Name' on type "
              "'Microsoft.Dynamics.CRM.account'.\" and, for a body, \"Invalid property 'Name' "
              "was found in entity ...\""),
    ErrorCode("", "NoHttpResource", CLIENT_ERRORS_PAGE,
              "404 \"No HTTP resource was found that matches the request URI ...\" (a function "
              "called with the wrong method); also our code for other routing-level answers "
              "(405 wrong method, 503 gateway), which come from the web stack, not Dataverse"),
    ErrorCode("0x80060888", "QueryError", QUERY_PAGE,
              "our choice for OData query errors the pages show no code for (syntax, type "
              "clashes, unsupported options such as $skip): the code Dataverse sends for them"),
    ErrorCode("0x80048d19", "PayloadError", CLIENT_ERRORS_PAGE,
              "400 \"Error identified in Payload provided by the user for Entity :'contacts' "
              "----> InnerException : ...\""),
    ErrorCode("0x80040217", "ObjectDoesNotExist", ERROR_CODES_PAGE,
              "\"<table> With Id = <id> Does Not Exist\" on the Web API"),
    ErrorCode("0x80040237", "DuplicateRecord", ERROR_CODES_PAGE,
              "\"A record with matching key values already exists.\"; a duplicate primary key "
              "says \"Operation failed due to a SQL integrity violation.\""),
    ErrorCode("0x80060882", "ConcurrencyVersionMismatch", CONDITIONAL_PAGE,
              "412 \"The version of the existing record doesn't match the RowVersion property "
              "provided.\""),
    ErrorCode("0x80044331", "ValidationError", BATCH_PAGE,
              "\"A validation error occurred.  The length of the 'subject' attribute of the "
              "'task' entity exceeded the maximum allowed length of '200'.\""),
    ErrorCode("0x8004431a", "PicklistValueOutOfRange", ERROR_CODES_PAGE,
              "a choice value that is not one of the column's options"),
    ErrorCode("0x80040203", "InvalidArgument", ERROR_CODES_PAGE,
              "generic invalid argument (closed activity, status not valid for the state, an "
              "unknown Content-ID reference)"),
    ErrorCode("0x80040220", "PrivilegeDenied", ERROR_CODES_PAGE,
              "\"The user does not hold the necessary privileges.\" (403)"),
    ErrorCode("0x8004a110", "CannotActOnBehalfOfAnotherUser", ERROR_CODES_PAGE,
              "\"User does not have the privilege to act on behalf another user.\" (403)"),
    ErrorCode("0x80040225", "UserDisabled", ERROR_CODES_PAGE,
              "our choice for impersonating a disabled user (403)"),
    ErrorCode("0x8005f101", "AccessTokenExpired", ERROR_CODES_PAGE,
              "\"The requested resource requires authentication.\" (401; Dataverse often sends "
              "401 with no body)"),
    ErrorCode("0x80072322", "ServiceProtectionRequests", API_LIMITS_PAGE,
              "429 \"Number of requests exceeded the limit of 6000 over time window of 300 "
              "seconds.\" (SDK -2147015902)"),
    ErrorCode("0x80072321", "ServiceProtectionExecutionTime", API_LIMITS_PAGE,
              "429 \"Combined execution time of incoming requests exceeded limit of "
              "1,200,000 milliseconds over time window of 300 seconds. ...\" (SDK -2147015903)"),
    ErrorCode("0x80072326", "ServiceProtectionConcurrency", API_LIMITS_PAGE,
              "429 \"Number of concurrent requests exceeded the limit of 52.\" (SDK -2147015898)"),
    ErrorCode("0x80044352", "ExpiredVersionStamp", CHANGE_TRACKING_PAGE,
              "\"Version stamp associated with the client has expired. Please perform a full "
              "sync.\"; the Web API status is not documented (we send 400)"),
    ErrorCode("0x80072491", "ChangeTrackingNotEnabledForEntity", ERROR_CODES_PAGE,
              "\"Entity {0} isn't enabled for change tracking.\""),
    ErrorCode("0x80040800", "UnsupportedMessage", BULK_PAGE,
              "a bulk message (CreateMultiple, UpdateMultiple, UpsertMultiple) on a table that "
              "does not have it: the page lists which tables do but shows no error; the code "
              "and \"The 'CreateMultiple' method does not support entities of type 'task'. "
              "MessageProcessorCache returned MessageProcessor.Empty.\" are what Dataverse is "
              "reported to send (the 400 status is our choice)"),
    ErrorCode("0x80040216", "UnexpectedError", HANDLE_ERRORS_PAGE,
              "\"An unexpected error occurred.\" (500)"),
)

ERROR_CODES: dict[str, ErrorCode] = {entry.name: entry for entry in _TABLE}
KNOWN_CODES: frozenset[str] = frozenset(entry.code for entry in _TABLE)


def code(name: str) -> str:
    """The wire value of the code called `name` (KeyError for a name not in the table)."""
    return ERROR_CODES[name].code


RESOURCE_NOT_FOUND = code("ResourceNotFoundForSegment")
PROPERTY_NOT_FOUND = code("PropertyNotFound")
NO_HTTP_RESOURCE = code("NoHttpResource")
QUERY_ERROR = code("QueryError")
PAYLOAD_ERROR = code("PayloadError")
NOT_FOUND = code("ObjectDoesNotExist")
DUPLICATE = code("DuplicateRecord")
VERSION_MISMATCH = code("ConcurrencyVersionMismatch")
VALIDATION = code("ValidationError")
OPTION_OUT_OF_RANGE = code("PicklistValueOutOfRange")
INVALID_ARGUMENT = code("InvalidArgument")
PRIVILEGE_DENIED = code("PrivilegeDenied")
CANNOT_ACT_ON_BEHALF = code("CannotActOnBehalfOfAnotherUser")
USER_DISABLED = code("UserDisabled")
AUTH_FAILED = code("AccessTokenExpired")
THROTTLED_REQUESTS = code("ServiceProtectionRequests")
EXECUTION_TIME_LIMIT_EXCEEDED = code("ServiceProtectionExecutionTime")
CONCURRENCY_LIMIT_EXCEEDED = code("ServiceProtectionConcurrency")
EXPIRED_VERSION_STAMP = code("ExpiredVersionStamp")
CHANGE_TRACKING_NOT_ENABLED = code("ChangeTrackingNotEnabledForEntity")
UNEXPECTED = code("UnexpectedError")
UNSUPPORTED_MESSAGE = code("UnsupportedMessage")
