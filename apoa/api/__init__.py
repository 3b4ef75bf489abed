"""The open interfaces: the JSON API v1 with its OpenAPI document (/api/v1), Open311 GeoReport v2
for partner applications and agencies (/open311/v2), staff's personal access tokens and the keys
an admin issues to partners."""
