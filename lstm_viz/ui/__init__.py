"""The Qt layer: the Session, the main window, the transport and the panels."""
