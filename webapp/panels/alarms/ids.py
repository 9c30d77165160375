"""The component ids of the alarm list, for the page and its panels."""

from __future__ import annotations


class ids:  # noqa: N801 - a namespace of this page's component ids
    VIEW = "alarms-view"
    LIVE = "alarms-live"
    HISTORY = "alarms-history"
    AREA = "alarms-area"
    PRIORITY = "alarms-priority"
    STATE = "alarms-state"
    SOURCE = "alarms-source"
    TIME = "alarms-time"
    FROM = "alarms-from"
    TO = "alarms-to"
    RANGE = "alarms-range"
    FILTERS = "alarms-filters"
    FILTERS_TOGGLE = "alarms-filters-toggle"
    FILTER_ERROR = "alarms-filter-error"
    SUMMARY = "alarms-summary"
    ACK_VISIBLE = "alarms-ack-visible"
    LIST = "alarms-list"
    SHOWN = "alarms-shown"  # digest of the live list the browser shows, and its unacknowledged ids
    RESULT = "alarms-result"
    SENT = "alarms-sent"  # command ids waiting for the alarm service's answer
    HIST_TABLE = "alarms-hist-table"
    HIST_SUMMARY = "alarms-hist-summary"
    HIST_SHOWN = "alarms-hist-shown"
    PAGER = "alarms-pager"
    DETAIL = "alarms-detail"
    DETAIL_INFO = "alarms-detail-info"
    DETAIL_TRAIL = "alarms-detail-trail"
    DETAIL_ACK = "alarms-detail-ack"
    DETAIL_SHELVE = "alarms-detail-shelve"
    DETAIL_UNSHELVE = "alarms-detail-unshelve"
    DETAIL_OOS = "alarms-detail-oos"
    DETAIL_IN_SERVICE = "alarms-detail-in-service"
    DETAIL_COMMENT = "alarms-detail-comment"
    SELECTED = "alarms-selected"
    MODAL = "alarms-modal"
    MODAL_TITLE = "alarms-modal-title"
    MODAL_BODY = "alarms-modal-body"
    MODAL_DURATION_ROW = "alarms-modal-duration-row"
    MODAL_DURATION = "alarms-modal-duration"
    MODAL_COMMENT = "alarms-modal-comment"
    MODAL_COMMENT_LABEL = "alarms-modal-comment-label"
    MODAL_ERROR = "alarms-modal-error"
    MODAL_CONFIRM = "alarms-modal-confirm"
    MODAL_CANCEL = "alarms-modal-cancel"
    PENDING = "alarms-pending"  # the action waiting for confirmation
    ROW_ACK = "alarms-row-ack"
    ROW_OPEN = "alarms-row-open"

    @staticmethod
    def row_ack(alarm_id: str) -> dict[str, str]:
        return {"type": ids.ROW_ACK, "index": alarm_id}

    @staticmethod
    def row_open(alarm_id: str) -> dict[str, str]:
        return {"type": ids.ROW_OPEN, "index": alarm_id}
