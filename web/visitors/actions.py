"""Audit-log action names of the intercom desk, visitors, invites, watchlist and unit registry."""

UNIT_ADD = "unit.add"
UNIT_EDIT = "unit.edit"
UNIT_DELETE = "unit.delete"
UNIT_IMPORT = "unit.import"
UNIT_EXPORT = "unit.export"
CALL_ANSWER = "intercom.answer"
CALL_CONFIRM = "intercom.confirm"
CALL_REFUSE = "intercom.refuse"
CALL_NO_ANSWER = "intercom.no_answer"
CALL_TIMEOUT = "intercom.call_timeout"          #: the console's job ended unanswered calls
VISIT_REGISTER = "visit.register"
VISIT_CONFIRM = "visit.confirm"
VISIT_REFUSE = "visit.refuse"
VISIT_UNLOCK = "visit.unlock"                    #: signed intercom.open, detail names any override
VISIT_CHECK_IN = "visit.check_in"
VISIT_CHECK_OUT = "visit.check_out"
VISIT_AUTO_CHECKOUT = "visit.auto_checkout"
VISIT_ANONYMISE = "visit.anonymise"
INVITE_CREATE = "invite.create"
INVITE_REVOKE = "invite.revoke"
INVITE_LINK = "invite.link"                      #: a phone link made (the token is never logged)
WATCH_ADD = "watchlist.add"
WATCH_REMOVE = "watchlist.remove"
VISITOR_SETTINGS = "visitor.settings"
PANEL_BUILDING = "intercom.panel_building"          #: a panel mapped to a building
PANEL_BUILDING_REMOVE = "intercom.panel_building_remove"
#: The user name the console's own jobs write in the audit log.
SYSTEM_USER = "system"
