"""Dash pages only (Dash's pages folder): each module registers one page."""
