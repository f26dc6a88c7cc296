-- The board's column figures, kept up to date by triggers on every write to deals so that a
-- board request reads a few dozen rows instead of counting every open deal. One row per
-- pipeline, stage, owner (0 for none) and currency of the open deals.
CREATE TABLE deal_board_totals (
    pipeline_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    owner_key BIGINT NOT NULL,
    currency TEXT NOT NULL,
    deals BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, owner_key, stage_id, currency)
);

INSERT INTO deal_board_totals (pipeline_id, stage_id, owner_key, currency, deals, total_minor)
SELECT pipeline_id, stage_id, COALESCE(owner_id, 0), currency, COUNT(*), SUM(value_minor)
FROM deals
WHERE status = 'open'
GROUP BY pipeline_id, stage_id, COALESCE(owner_id, 0), currency;

CREATE TRIGGER deal_board_totals_after_insert AFTER INSERT ON deals
WHEN NEW.status = 'open'
BEGIN
    INSERT INTO deal_board_totals (pipeline_id, stage_id, owner_key, currency, deals, total_minor)
    VALUES (NEW.pipeline_id, NEW.stage_id, COALESCE(NEW.owner_id, 0), NEW.currency, 1,
            NEW.value_minor)
    ON CONFLICT (pipeline_id, owner_key, stage_id, currency)
    DO UPDATE SET deals = deals + 1, total_minor = total_minor + excluded.total_minor;
END;

CREATE TRIGGER deal_board_totals_after_delete AFTER DELETE ON deals
WHEN OLD.status = 'open'
BEGIN
    UPDATE deal_board_totals
    SET deals = deals - 1, total_minor = total_minor - OLD.value_minor
    WHERE pipeline_id = OLD.pipeline_id AND owner_key = COALESCE(OLD.owner_id, 0)
      AND stage_id = OLD.stage_id AND currency = OLD.currency;
END;

CREATE TRIGGER deal_board_totals_after_update
AFTER UPDATE OF pipeline_id, stage_id, owner_id, currency, value_minor, status ON deals
WHEN OLD.status = 'open' OR NEW.status = 'open'
BEGIN
    UPDATE deal_board_totals
    SET deals = deals - 1, total_minor = total_minor - OLD.value_minor
    WHERE OLD.status = 'open'
      AND pipeline_id = OLD.pipeline_id AND owner_key = COALESCE(OLD.owner_id, 0)
      AND stage_id = OLD.stage_id AND currency = OLD.currency;
    INSERT INTO deal_board_totals (pipeline_id, stage_id, owner_key, currency, deals, total_minor)
    SELECT NEW.pipeline_id, NEW.stage_id, COALESCE(NEW.owner_id, 0), NEW.currency, 1,
           NEW.value_minor
    WHERE NEW.status = 'open'
    ON CONFLICT (pipeline_id, owner_key, stage_id, currency)
    DO UPDATE SET deals = deals + 1, total_minor = total_minor + excluded.total_minor;
END;
