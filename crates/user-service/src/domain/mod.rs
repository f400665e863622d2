//! Rules of the user service, pure and unit-tested without IO. (being written)
