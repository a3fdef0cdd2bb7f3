"""Parley contracts: every subject, every event payload, every stream. Versioned, backward compatible."""

from .ai import (
    BudgetRange,
    Citation,
    Dependent,
    ExistingPolicy,
    LookupProductsRequest,
    NeedsExtracted,
    NeedsProfile,
    Recommendation,
    RecommendationsReady,
    RecommendedProduct,
    Urgency,
)
from .audit import AuditRecorded
from .base import Contract, Event, TraceContext, utcnow
from .calls import (
    CallEnded,
    CallMode,
    CallOutcome,
    CallRequested,
    CallStarted,
    CallStatusChanged,
    DialingChanged,
    FollowupRequested,
    TaskCanceled,
    TaskCompleted,
    TaskReminder,
    TaskScheduled,
    TelephonyStatus,
    TranscriptLine,
)
from .catalog import (
    DocumentDeleted,
    DocumentTextReply,
    DocumentTextRequest,
    DocumentUploaded,
    Eligibility,
    PremiumPeriod,
    PremiumRange,
    ProductDeleted,
    ProductSnapshot,
    ProductUpserted,
)
from .documents import (
    EmailFailed,
    EmailSent,
    ProspectusAgentContact,
    ProspectusFailed,
    ProspectusGenerated,
    ProspectusPdfReply,
    ProspectusPdfRequest,
    ProspectusStatus,
)
from .gateway import GatewaySettingsReply, GatewaySettingsRequest, GatewayUserReply, GatewayUserRequest
from .leads import (
    ConsentFlags,
    LeadConsentChanged,
    LeadCreated,
    LeadDeleted,
    LeadEmailCaptured,
    LeadSnapshot,
    LeadSnapshotReply,
    LeadSnapshotRequest,
    LeadStatus,
    LeadTimezoneConfirmed,
    LeadUpdated,
    SetLeadConsent,
    TimeWindow,
    TimezoneSource,
)
from .streams import STREAMS, StreamSpec, stream_for

EVENT_TYPES: tuple[type[Event], ...] = (
    LeadCreated,
    LeadUpdated,
    LeadDeleted,
    LeadConsentChanged,
    SetLeadConsent,
    LeadEmailCaptured,
    LeadTimezoneConfirmed,
    ProductUpserted,
    ProductDeleted,
    DocumentUploaded,
    DocumentDeleted,
    CallRequested,
    CallStarted,
    CallStatusChanged,
    CallEnded,
    FollowupRequested,
    TaskReminder,
    TaskScheduled,
    TaskCompleted,
    TaskCanceled,
    DialingChanged,
    NeedsExtracted,
    RecommendationsReady,
    ProspectusGenerated,
    ProspectusFailed,
    EmailSent,
    EmailFailed,
    AuditRecorded,
)

EVENTS_BY_SUBJECT: dict[str, type[Event]] = {cls.subject: cls for cls in EVENT_TYPES}

# Request/reply subjects (answers needed now, not facts): not stored in a stream.
RPC_LOOKUP_PRODUCTS = "rpc.rag.lookup_products"
# Admin settings resolved in clear (API keys included) for services on the internal bus only
# (GatewaySettingsRequest -> GatewaySettingsReply).
RPC_GATEWAY_SETTINGS = "rpc.gateway.settings"
# A user's public profile (id, name, email, role, active) by id, e.g. the agent named on a prospectus
# (GatewayUserRequest -> GatewayUserReply).
RPC_GATEWAY_USER = "rpc.gateway.user"
# A rendered prospectus version (PDF bytes, the recommendation and agent it was made from), for the mailer.
RPC_PROSPECTUS_PDF = "rpc.prospectus.pdf"
# A lead's current snapshot from leads (LeadSnapshotRequest -> LeadSnapshotReply): a service whose
# projection has not seen a lead yet (its lead.created still on the way) asks, so a lead created a
# moment ago can be used at once.
RPC_LEADS_SNAPSHOT = "rpc.leads.snapshot"
# A catalog document's extracted text, paged (DocumentTextRequest -> DocumentTextReply), for indexing.
RPC_CATALOG_DOCUMENT_TEXT = "rpc.catalog.document_text"

__all__ = [
    "EVENTS_BY_SUBJECT",
    "EVENT_TYPES",
    "RPC_CATALOG_DOCUMENT_TEXT",
    "RPC_GATEWAY_SETTINGS",
    "RPC_GATEWAY_USER",
    "RPC_LEADS_SNAPSHOT",
    "RPC_LOOKUP_PRODUCTS",
    "RPC_PROSPECTUS_PDF",
    "STREAMS",
    "AuditRecorded",
    "BudgetRange",
    "CallEnded",
    "CallMode",
    "CallOutcome",
    "CallRequested",
    "CallStarted",
    "CallStatusChanged",
    "Citation",
    "ConsentFlags",
    "Contract",
    "Dependent",
    "DialingChanged",
    "DocumentDeleted",
    "DocumentTextReply",
    "DocumentTextRequest",
    "DocumentUploaded",
    "Eligibility",
    "EmailFailed",
    "EmailSent",
    "Event",
    "ExistingPolicy",
    "FollowupRequested",
    "GatewaySettingsReply",
    "GatewaySettingsRequest",
    "GatewayUserReply",
    "GatewayUserRequest",
    "LeadConsentChanged",
    "LeadCreated",
    "LeadDeleted",
    "LeadEmailCaptured",
    "LeadSnapshot",
    "LeadSnapshotReply",
    "LeadSnapshotRequest",
    "LeadStatus",
    "LeadTimezoneConfirmed",
    "LeadUpdated",
    "LookupProductsRequest",
    "NeedsExtracted",
    "NeedsProfile",
    "PremiumPeriod",
    "PremiumRange",
    "ProductDeleted",
    "ProductSnapshot",
    "ProductUpserted",
    "ProspectusAgentContact",
    "ProspectusFailed",
    "ProspectusGenerated",
    "ProspectusPdfReply",
    "ProspectusPdfRequest",
    "ProspectusStatus",
    "Recommendation",
    "RecommendationsReady",
    "RecommendedProduct",
    "SetLeadConsent",
    "StreamSpec",
    "TaskCanceled",
    "TaskCompleted",
    "TaskReminder",
    "TaskScheduled",
    "TelephonyStatus",
    "TimeWindow",
    "TimezoneSource",
    "TraceContext",
    "TranscriptLine",
    "Urgency",
    "stream_for",
    "utcnow",
]
