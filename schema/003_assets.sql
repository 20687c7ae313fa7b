-- Assets (issue 5): what `complete` verified, when an upload form expires,
-- and a character's portrait as a reference to an asset.

-- checksum is the lowercase hex SHA-256 of the object, computed by the
-- server while streaming it at `complete`; etag is the store's ETag of the
-- object it read (If-Match), so the two describe the same bytes.
ALTER TABLE game.assets
    ADD COLUMN etag              text,
    ADD COLUMN upload_expires_at timestamptz;
COMMENT ON COLUMN game.assets.checksum IS 'lowercase hex SHA-256 of the object, computed by the server at complete';

-- Deletions mark a row deleted before removing its object; cleanup retries
-- the ones left behind by a crash or a storage outage.
CREATE INDEX assets_deleted_idx ON game.assets (updated_at) WHERE status = 'deleted';

-- A portrait refers to an existing asset; removing the asset clears it.
-- (That it is the owner's ready portrait is checked by the service.)
ALTER TABLE game.characters
    ADD CONSTRAINT characters_portrait_asset_fkey
    FOREIGN KEY (portrait_asset_id) REFERENCES game.assets (id) ON DELETE SET NULL;
CREATE INDEX characters_portrait_asset_idx ON game.characters (portrait_asset_id)
    WHERE portrait_asset_id IS NOT NULL;
