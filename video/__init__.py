"""Video: the plant's cameras, by pipeline stage (as in Frigate).

- :mod:`video.capture` - read a camera (RTSP, HTTP MJPEG, a video file) through OpenCV in its own thread,
  reconnect with backoff, report online/offline;
- :mod:`video.relay` - one decode per camera shared by every viewer, re-encoded small for the screens,
  captures started on demand and stopped when nobody watches; the Flask routes of live views and snapshots.

Later stages: ``video.motion`` (motion gating), ``video.detect`` (detectors), ``video.events`` (detections
as events and alarms), ``video.media`` (snapshots, clips, retention).
"""
