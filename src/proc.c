/* proc: not written yet */
