// placeholder until client_store.cpp lands
namespace ttygate::daemon {}
