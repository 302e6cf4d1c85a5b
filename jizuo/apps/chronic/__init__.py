"""Chronic disease management fed by health-station devices: device readings (FHIR Observations plus a trend
table), urgent-referral alerts to the family doctor, hypertension / type 2 diabetes registration, follow-ups and
indicators (national basic public health service specification, 国家基本公共卫生服务规范 第三版)."""
