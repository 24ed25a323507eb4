/* supervisor: not written yet */
