"""What the payments app's services take and return (the checkout issue fills this in)."""
