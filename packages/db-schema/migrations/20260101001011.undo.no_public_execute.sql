GRANT EXECUTE ON FUNCTION app.wake_mailbox_sends(uuid) TO PUBLIC;
