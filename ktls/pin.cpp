// placeholder until pin.cpp lands
namespace ttygate::ktls {}
