"""The component ids of the video page (``/video``), defined once for the page and its panels."""


class ids:  # noqa: N801 - the page's component ids, defined once
    AREA = "video-area"
    ZONE = "video-zone"
    PAGE = "video-page"
    GRID = "video-grid"
    COUNT = "video-count"
    TICK = "video-tick"
    TILE = "video-tile"  # pattern: {"type": TILE, "index": camera id}
    IMG = "video-img"
    STATE = "video-state"
    MODAL = "video-modal"
    LIVE = "video-live"
    LIVE_TITLE = "video-live-title"
    FALLBACKS = "video-fallbacks"  # the models the video service refused (a health warning)
    # the alarm feed
    FEED = "video-feed"
    FEED_CAMERA = "video-feed-camera"
    FEED_ZONE = "video-feed-zone"
    FEED_CLASS = "video-feed-class"
    FEED_COUNTS = "video-feed-counts"
    FEED_SHOWN = "video-feed-shown"  # digest of what the browser shows, and the keyset of the next page
    FEED_PAGES = "video-feed-pages"  # keysets of the pages before the one shown (newest page: [])
    FEED_NEWER = "video-feed-newer"
    FEED_OLDER = "video-feed-older"
    ITEM = "video-feed-item"  # pattern: {"type": ITEM, "index": event id}
    EV_MODAL = "video-event-modal"
    EV_TITLE = "video-event-title"
    EV_SNAP = "video-event-snapshot"
    EV_CLIP = "video-event-clip"
    EV_INFO = "video-event-info"
    EV_DOWNLOAD = "video-event-download"
    EV_ACK = "video-event-ack"
    EV_FP = "video-event-fp"
    EV_CONFIRM = "video-event-confirm"
    EV_CONFIRM_YES = "video-event-confirm-yes"
    EV_CONFIRM_NO = "video-event-confirm-no"
    EV_RESULT = "video-event-result"
    EV_SELECTED = "video-event-selected"
    SENT = "video-sent"  # command ids waiting for the alarm service's answer (an action output)
