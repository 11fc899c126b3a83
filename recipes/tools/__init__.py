"""Tools that several recipes share: the weather-alerts activity and its NWS
client, the US state codes, and the sample alert data."""
