"""What the loop decides, pure and typed: the retrain policy (`policy`), the run's plan
(`plan`), the champion/challenger gate (`gate`), the candidate tournament (`tournament`),
which model may score a window (`timeline`) and the skips that must turn the run red
(`attention`)."""
