"""Every model, imported in one place so the metadata (and so Alembic) knows all tables."""
from apoa.api.models import ApiSubmission, ApiToken, PartnerKey  # noqa: F401
from apoa.audit.models import AuditEntry  # noqa: F401
from apoa.auth.models import RecoveryCode, User  # noqa: F401
from apoa.feedback.models import ServiceCase  # noqa: F401
from apoa.guests.models import Organisation, OrganisationMember, Stay, StayChange, SttpoaCounter  # noqa: F401
from apoa.indicators.models import IndicatorSeries, IndicatorValue  # noqa: F401
from apoa.maps.models import hotspot_snapshot, report_grid  # noqa: F401
from apoa.notifications.models import Notification  # noqa: F401  (also User.email_notifications)
from apoa.partners.models import ForwardedReport, JointOperation, JointOperationAgency, JointOperationReport, PartnerAgency, PartnerMember  # noqa: F401,E501
from apoa.privacy.models import SubjectRequest  # noqa: F401
from apoa.regions.models import Office, Region, RegionPart, RegionSource, office_region  # noqa: F401
from apoa.reports.models import Attachment, Category, Report, ReportEvent  # noqa: F401
from apoa.summaries.models import summary_due, summary_flow, summary_open, summary_report  # noqa: F401
from apoa.whatsapp.models import Block, Conversation, Inbound, Outbound  # noqa: F401
