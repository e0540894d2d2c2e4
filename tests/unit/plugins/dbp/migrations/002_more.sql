ALTER TABLE dbp_items ADD COLUMN extra TEXT;
CREATE TRIGGER dbp_items_touch AFTER UPDATE ON dbp_items BEGIN
  UPDATE dbp_items SET extra = 'touched' WHERE id = new.id AND extra IS NULL;
END;
