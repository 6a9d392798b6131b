"""newsflow: raw scraped news in, clean enriched documents out."""
__version__ = "0.1.0"
