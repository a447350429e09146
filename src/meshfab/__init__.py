"""meshfab: Made-in-Internet manufacturing platform."""
