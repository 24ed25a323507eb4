/* store: not written yet */
