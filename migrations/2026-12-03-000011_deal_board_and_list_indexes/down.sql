DROP INDEX deals_list_by_stage_entered;
DROP INDEX deals_list_by_close;
DROP INDEX deals_list_by_value;
DROP INDEX deals_list_by_title;
DROP INDEX deals_board_cover;
