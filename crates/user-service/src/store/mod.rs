//! Every query of the user service. (being written)
