DROP FUNCTION IF EXISTS app.organisation_for_pixel_token(text);
DROP TABLE IF EXISTS tracking.campaign_daily_stats CASCADE;
DROP TABLE IF EXISTS tracking.message_open_stats CASCADE;
DROP TABLE IF EXISTS tracking.open_events CASCADE;
DROP TABLE IF EXISTS tracking.pixels CASCADE;
