"""履职档案: each deputy's record of duty and the station and district figures, built from what happened."""
