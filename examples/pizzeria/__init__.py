"""The talk's pizzeria: order a regina or a margherita, watch it cook, get the pizza."""
