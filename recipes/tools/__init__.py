"""Tools that several recipes share: the weather-alerts activity and its NWS
client, the alerts and forecast agent tools, the US state codes, and the sample
alert data."""
