"""What the cart's services take and return (the cart issue fills this in: lines, totals, errors)."""
